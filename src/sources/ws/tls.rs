//! TLS for `wss://`: rustls with the `ring` provider, verifying certificates against Mozilla's roots
//! (`webpki-roots`) or, with `tls: {ca_file: …}`, against the CAs in that PEM file only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Why a TLS set-up failed; each says what is wrong with which file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls::pki_types::pem::Error,
    },
    /// The CA file is not PEM.
    #[error("{} is not a PEM certificate file: {source}", path.display())]
    NotPem {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls::pki_types::pem::Error,
    },
    /// The CA file has no certificate.
    #[error("{} holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)", .0.display())]
    Empty(PathBuf),
    /// A certificate of the CA file cannot serve as a root.
    #[error("{}: not a usable CA certificate: {source}", path.display())]
    NotCa {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls::Error,
    },
    /// rustls refused the protocol versions.
    #[error("TLS set-up: {0}")]
    Setup(rustls::Error),
}

/// Reads every certificate of a PEM file; an error says what is wrong with the file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .collect();
    let certs = certs.map_err(|source| TlsError::NotPem {
        path: path.to_path_buf(),
        source,
    })?;
    if certs.is_empty() {
        return Err(TlsError::Empty(path.to_path_buf()));
    }
    Ok(certs)
}

/// A client config trusting the built-in roots, or only the CAs of `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(p) => {
            for c in load_certs(p)? {
                roots.add(c).map_err(|source| TlsError::NotCa {
                    path: p.to_path_buf(),
                    source,
                })?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// When `e` (from a handshake or a read) is a certificate the client refused, a sentence saying so.
pub fn certificate_error(e: &std::io::Error) -> Option<String> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::InvalidCertificate(c) => Some(format!("certificate not trusted ({c:?})")),
        rustls::Error::NoCertificatesPresented => Some("the server sent no certificate".into()),
        _ => None,
    }
}
