//! The callback listener's side of a connection: accept within a bound on
//! connections, read one request within a size cap and a read deadline,
//! parse it, answer. Any local process can connect to the callback port, so
//! nothing here trusts what arrives.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

/// The most bytes one request may have, request line, headers and body together.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// How long a connection may take to deliver its whole request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most connections read at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 16;
/// How often a waiting reader checks that the step still waits.
const TICK: Duration = Duration::from_millis(100);

/// One HTTP request as it arrived on the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    pub method: String,
    /// The request-target: path and query (`/callback?code=…`).
    pub target: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads one request out of `buf`: `Ok(None)` while more bytes are needed,
/// `Err` (with the status to answer) for a request that is malformed or over
/// [`MAX_REQUEST_BYTES`]. Never panics, whatever the bytes.
pub fn parse_request(buf: &[u8]) -> Result<Option<RawRequest>, (u16, String)> {
    let too_large = || (431, format!("request larger than {} KiB", MAX_REQUEST_BYTES / 1024));
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() >= MAX_REQUEST_BYTES { Err(too_large()) } else { Ok(None) };
    };
    if head_end + 4 > MAX_REQUEST_BYTES {
        return Err(too_large());
    }
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.split("\r\n");
    let bad = |why: &str| (400, why.to_string());
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || !target.starts_with('/') {
        return Err(bad("malformed request line"));
    }
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not HTTP/1.x"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { return Err(bad("malformed header")) };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    if headers.iter().any(|(n, _)| n == "transfer-encoding") {
        return Err((411, "a body needs a Content-Length".to_string()));
    }
    let length = match headers.iter().find(|(n, _)| n == "content-length") {
        Some((_, v)) => v.parse::<usize>().map_err(|_| bad("bad Content-Length"))?,
        None => 0,
    };
    let body_start = head_end + 4;
    if length > MAX_REQUEST_BYTES - body_start {
        return Err(too_large());
    }
    if buf.len() < body_start + length {
        return Ok(None);
    }
    Ok(Some(RawRequest {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: buf[body_start..body_start + length].to_vec(),
    }))
}

/// A request read in full, with the connection to answer it on.
pub struct Incoming {
    pub request: RawRequest,
    pub stream: TcpStream,
}

/// Accepts every pending connection (non-blocking `socket`); each is read on a
/// thread of its own, at most [`MAX_CONNECTIONS`] at once, and a complete
/// request goes to `found` unless `done` is set first.
pub fn accept_pending(
    socket: &TcpListener,
    active: &Arc<AtomicUsize>,
    done: &Arc<AtomicBool>,
    found: &SyncSender<Incoming>,
) -> std::io::Result<()> {
    loop {
        let stream = match socket.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A connection reset before it was accepted, out of descriptors…: not the listener's end.
            Err(e) if is_transient(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            drop(stream);
            continue;
        }
        let (active, done, found) = (active.clone(), done.clone(), found.clone());
        let spawned = std::thread::Builder::new().name("callback-conn".into()).spawn(move || {
            serve(stream, &done, &found);
            active.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            return Ok(());
        }
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | TimedOut) || e.raw_os_error().is_some_and(|c| c == 24)
}

fn serve(mut stream: TcpStream, done: &AtomicBool, found: &SyncSender<Incoming>) {
    match read_request(&mut stream, done) {
        Ok(request) => {
            if !done.load(Ordering::SeqCst) {
                let _ = found.try_send(Incoming { request, stream });
            }
        }
        Err(Some((status, why))) => respond(&mut stream, status, "text/plain; charset=utf-8", &why),
        Err(None) => {}
    }
}

/// One request within the size cap and [`READ_TIMEOUT`]; `Err(None)` when
/// the peer went away, it took too long, or the step no longer waits.
fn read_request(stream: &mut TcpStream, done: &AtomicBool) -> Result<RawRequest, Option<(u16, String)>> {
    let deadline = Instant::now() + READ_TIMEOUT;
    let _ = stream.set_nonblocking(false);
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if done.load(Ordering::SeqCst) {
            return Err(None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Some((408, "request not received in time".to_string())));
        }
        let _ = stream.set_read_timeout(Some(left.min(TICK)));
        // Never more than one byte past the cap: enough to know it was passed.
        let room = (MAX_REQUEST_BYTES + 1).saturating_sub(buf.len()).min(chunk.len());
        match stream.read(&mut chunk[..room]) {
            Ok(0) => return Err(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(None),
        }
        match parse_request(&buf) {
            Ok(Some(request)) => return Ok(request),
            Ok(None) => {}
            Err(why) => return Err(Some(why)),
        }
    }
}

/// Answers and closes: the listener keeps no connection alive.
pub fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        411 => "Length Required",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
        body.len()
    );
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes()));
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_within_the_cap() {
        let r = parse_request(b"GET /callback?code=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/callback?code=1"));
        assert_eq!(parse_request(b"GET /cb HTTP/1.1\r\nHost: x"), Ok(None));
        let post = b"POST /cb HTTP/1.1\r\nContent-Length: 5\r\n\r\na=1&b";
        assert_eq!(parse_request(post).unwrap().unwrap().body, b"a=1&b");
        assert_eq!(parse_request(&post[..post.len() - 1]), Ok(None));
        assert_eq!(parse_request(&vec![b'G'; MAX_REQUEST_BYTES]).unwrap_err().0, 431);
        assert_eq!(parse_request(b"POST /cb HTTP/1.1\r\nContent-Length: 16384\r\n\r\n").unwrap_err().0, 431);
        assert_eq!(parse_request(b"POST /cb HTTP/1.1\r\nContent-Length: -1\r\n\r\n").unwrap_err().0, 400);
        assert_eq!(parse_request(b"GET http://x/ HTTP/1.1\r\n\r\n").unwrap_err().0, 400);
        assert_eq!(parse_request(b"\r\n\r\n").unwrap_err().0, 400);
    }
}
