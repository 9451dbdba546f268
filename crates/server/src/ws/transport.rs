//! The WebSocket framing of one upgraded TCP connection, with nothing held while it is idle.
//!
//! An HTTP/1 connection in actix keeps an 8 KiB read buffer and an 8 KiB write buffer for as
//! long as it lives, which for a socket that mostly waits is most of its memory. Here the
//! connection is ours once the `101` is written ([`super::upgrade`]): a read waits for the
//! socket to be readable before it takes a buffer, and both buffers are given back as soon as
//! they are empty, so an idle socket costs its task and its state, not 16 KiB of buffers.
//! Frames are parsed and written by actix-http's WebSocket codec (masking, sizes, control
//! frames); continuations are assembled here, within the same size limit.

use std::io;

use actix_codec::{Decoder, Encoder};
use actix_http::ws::{Codec, Frame, Item, Message, ProtocolError};
use actix_web::web::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How much a read takes at a time once the socket is readable (a stack buffer).
const READ_CHUNK: usize = 4096;

/// A whole message from the client (continuations assembled).
#[derive(Debug)]
pub enum Received {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message (its bytes are not kept: nothing here takes binary).
    Binary,
    /// A WebSocket ping.
    Ping(Bytes),
    /// A WebSocket pong.
    Pong,
    /// The client's close frame.
    Close,
}

/// Why reading from the client failed.
#[derive(Debug)]
pub enum ReadError {
    /// A frame, or a message assembled from continuations, is larger than the limit.
    TooBig,
    /// Broken framing, or a text message that is not UTF-8.
    Protocol(String),
}

/// A message being assembled from continuation frames.
struct Partial {
    text: bool,
    data: BytesMut,
}

/// One upgraded connection: frames in, frames out.
pub struct WsTransport {
    io: TcpStream,
    codec: Codec,
    max_message: usize,
    /// Bytes read and not yet parsed; empty (no allocation) between frames.
    read_buf: BytesMut,
    /// Bytes encoded and not yet written; empty (no allocation) once written.
    write_buf: BytesMut,
    partial: Option<Partial>,
}

impl WsTransport {
    /// Takes over `io` after the handshake; `read` is what the client sent after its request
    /// (usually nothing). Frames and assembled messages are limited to `max_message` bytes.
    pub fn new(io: TcpStream, read: BytesMut, max_message: usize) -> Self {
        WsTransport {
            io,
            codec: Codec::new().max_size(max_message),
            max_message,
            read_buf: read,
            write_buf: BytesMut::new(),
            partial: None,
        }
    }

    /// The next whole message; `None` once the client has gone (end of stream or a broken
    /// connection). Cancel-safe: what was read stays buffered for the next call.
    pub async fn recv(&mut self) -> Option<Result<Received, ReadError>> {
        loop {
            match self.next_buffered() {
                Ok(Some(received)) => return Some(Ok(received)),
                Ok(None) => {}
                Err(err) => return Some(Err(err)),
            }
            if self.read_buf.is_empty() {
                // Give the buffer back while waiting: most sockets wait most of the time.
                self.read_buf = BytesMut::new();
            }
            if self.io.readable().await.is_err() {
                return None;
            }
            // Read into the stack and keep only what came: most reads are a pong or a short
            // frame, and reserving a 4 KiB buffer for each (then freeing it) was a
            // `malloc` off the allocator's fast path for every read of every socket.
            let mut chunk = [0u8; READ_CHUNK];
            match self.io.try_read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self
                    .read_buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
    }

    /// Parses what is buffered into the next whole message, if it is all there.
    fn next_buffered(&mut self) -> Result<Option<Received>, ReadError> {
        loop {
            let frame = match self.codec.decode(&mut self.read_buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(None),
                Err(ProtocolError::Overflow) => return Err(ReadError::TooBig),
                Err(err) => return Err(ReadError::Protocol(err.to_string())),
            };
            let received = match frame {
                Frame::Text(data) => Received::Text(utf8(data)?),
                Frame::Binary(_) => Received::Binary,
                Frame::Ping(data) => Received::Ping(data),
                Frame::Pong(_) => Received::Pong,
                Frame::Close(_) => Received::Close,
                Frame::Continuation(item) => match self.assemble(item)? {
                    Some(received) => received,
                    None => continue,
                },
            };
            return Ok(Some(received));
        }
    }

    /// Adds a continuation frame; the whole message once its last frame is in.
    fn assemble(&mut self, item: Item) -> Result<Option<Received>, ReadError> {
        let (first, data, last) = match item {
            Item::FirstText(data) => (Some(true), data, false),
            Item::FirstBinary(data) => (Some(false), data, false),
            Item::Continue(data) => (None, data, false),
            Item::Last(data) => (None, data, true),
        };
        if let Some(text) = first {
            self.partial = Some(Partial {
                text,
                data: BytesMut::new(),
            });
        }
        let Some(partial) = self.partial.as_mut() else {
            return Err(ReadError::Protocol(
                "continuation without a first frame".into(),
            ));
        };
        if partial.data.len() + data.len() > self.max_message {
            return Err(ReadError::TooBig);
        }
        partial.data.extend_from_slice(&data);
        if !last {
            return Ok(None);
        }
        let Some(Partial { text, data }) = self.partial.take() else {
            return Ok(None);
        };
        let data = data.freeze();
        Ok(Some(if text {
            Received::Text(utf8(data)?)
        } else {
            Received::Binary
        }))
    }

    /// Writes one message. If the future is dropped part way (a send timeout), the rest of the
    /// frame stays queued and goes out before anything sent later.
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        self.codec
            .encode(message, &mut self.write_buf)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err.to_string()))?;
        self.flush().await
    }

    /// Writes what is queued; the buffer is given back once it is all written.
    pub async fn flush(&mut self) -> io::Result<()> {
        while !self.write_buf.is_empty() {
            let written = self.io.write_buf(&mut self.write_buf).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        self.write_buf = BytesMut::new();
        Ok(())
    }

    /// Ends the connection: tells the client no more bytes come (FIN) and drops it.
    pub async fn shutdown(mut self) {
        let _ = self.io.shutdown().await;
    }
}

/// A text payload as a string; not UTF-8 is a protocol error (RFC 6455 8.1).
fn utf8(data: Bytes) -> Result<String, ReadError> {
    String::from_utf8(data.into())
        .map_err(|_| ReadError::Protocol("text frame is not valid UTF-8".into()))
}
