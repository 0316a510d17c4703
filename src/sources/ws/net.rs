//! The byte stream under a WebSocket: a non-blocking TCP socket, plain or wrapped in TLS.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::{ClientConnection, StreamOwned};

/// `ws://` or `wss://`. Both return `WouldBlock` when the socket has nothing more, which the WebSocket
/// layer passes up so the event loop can wait for the next readiness event.
pub enum NetStream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl NetStream {
    /// The socket, for registration with the poller.
    pub fn tcp(&mut self) -> &mut TcpStream {
        match self {
            NetStream::Plain(s) => s,
            NetStream::Tls(s) => &mut s.sock,
        }
    }
}

impl Read for NetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            NetStream::Plain(s) => s.read(buf),
            NetStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for NetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            NetStream::Plain(s) => s.write(buf),
            NetStream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            NetStream::Plain(s) => s.flush(),
            NetStream::Tls(s) => {
                s.flush()?;
                // rustls may still hold records the socket would not take: push them, or say WouldBlock.
                if s.conn.wants_write() {
                    s.conn.write_tls(&mut s.sock)?;
                }
                Ok(())
            }
        }
    }
}
