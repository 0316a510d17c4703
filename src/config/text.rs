//! What is checked on a config's text before it is parsed as YAML: how deeply it nests (parsing a deep
//! nest costs more than its length: 200,000 brackets took a minute to refuse), and where a duplicate key
//! the YAML parser reports at its mapping really is.

/// Nesting deeper than this is refused before parsing. A config nests a handful of levels; a sweep's
/// record axis a few more.
pub const MAX_DEPTH: usize = 64;

/// The (line, column), both from 1, of the first bracket or indentation that nests deeper than
/// [`MAX_DEPTH`], if any. One pass over the text: flow brackets outside quotes and comments, and
/// block indentation (each line more indented than the one it belongs to opens a level).
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut indents: Vec<usize> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let body = line.trim_start_matches([' ', '-']);
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        while indents.last().is_some_and(|&i| i >= indent) {
            indents.pop();
        }
        indents.push(indent);
        if indents.len() > MAX_DEPTH {
            return Some((n + 1, indent + 1));
        }
    }
    flow_too_deep(text)
}

/// The first flow bracket nesting deeper than [`MAX_DEPTH`].
fn flow_too_deep(text: &str) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1, 0);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = ' ';
    for c in text.chars() {
        column += 1;
        match (quote, c) {
            (_, '\n') => {
                (line, column, comment) = (line + 1, 0, false);
                // A plain scalar's quote character does not carry over a line break in a config.
                quote = quote.filter(|_| depth > 0);
            }
            _ if comment => {}
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '#') if prev.is_whitespace() => comment = true,
            (None, '"' | '\'') if matches!(prev, ' ' | '[' | '{' | ',' | ':') => quote = Some(c),
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some((line, column));
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    None
}

/// Where the second `key:` of the block mapping whose first key the parser points at (`line`, `column`,
/// from 1) is; `None` when it cannot be found (a flow mapping), so the parser's place stands.
pub fn duplicate_key(text: &str, key: &str, line: usize, column: usize) -> Option<(usize, usize)> {
    let at_key = |l: &str| {
        let rest = l.get(column.checked_sub(1)?..)?;
        let indent = &l[..column - 1];
        let owned = indent.chars().all(|c| c == ' ' || c == '-');
        let rest = rest.strip_prefix(key)?.trim_start_matches(' ');
        (owned && rest.starts_with(':')).then_some(())
    };
    let mut seen = 0;
    for (n, l) in text.lines().enumerate().skip(line.saturating_sub(1)) {
        let body = l.trim_start_matches([' ', '-']);
        let indent = l.len() - body.len();
        if n + 1 > line && !body.is_empty() && !body.starts_with('#') && indent < column - 1 {
            // The mapping has ended.
            return None;
        }
        if at_key(l).is_some() {
            seen += 1;
            if seen == 2 {
                return Some((n + 1, column));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_in_one_pass() {
        let flow = format!("a: {}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(too_deep(&flow), Some((1, 4 + 64)));
        let fine = format!("a: {}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(too_deep(&fine), None);
        // Brackets in quotes and comments do not nest.
        let quoted = format!("a: '{}' # {}\n", "[".repeat(100), "{".repeat(100));
        assert_eq!(too_deep(&quoted), None);
        let block: String = (0..70)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert_eq!(too_deep(&block), Some((65, 65)));
    }

    #[test]
    fn a_duplicate_key_is_found_at_its_second_place() {
        let text = "pipeline_type: Stream\ntubes: []\npipeline_type: Batch\n";
        assert_eq!(duplicate_key(text, "pipeline_type", 1, 1), Some((3, 1)));
        let nested = "tubes:\n- Sink:\n    label: a\n    fields: {}\n    label: b\nother: 1\n";
        assert_eq!(duplicate_key(nested, "label", 3, 5), Some((5, 5)));
        assert_eq!(duplicate_key("a: {b: 1, b: 2}\n", "b", 1, 4), None);
    }
}
