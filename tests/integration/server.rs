//! A tiny in-process HTTP/1.1 server: a closure answers each request; every
//! request is recorded so tests can assert what reached the server.
//!
//! As strict as real origin servers about the request target (RFC 9112 §3.2):
//! a request line in absolute form (`GET http://host:port/path HTTP/1.1`), a
//! missing `Host`, or a `Host` without the server's (non-default) port gets a
//! `400` and the connection is closed, before the handler sees it. Such a
//! request is still recorded, its raw request line in [`Req::line`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Req {
    /// The request line as it came, without its line break: `GET /me?a=1 HTTP/1.1`.
    pub line: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

#[derive(Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
    /// Sent with `Transfer-Encoding: chunked` and no `Content-Length`.
    pub chunked: bool,
}

impl Resp {
    pub fn json(status: u16, body: serde_json::Value) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
            chunked: false,
        }
    }
    pub fn text(status: u16, body: &str) -> Resp {
        Resp {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
            chunked: false,
        }
    }
    pub fn header(mut self, n: &str, v: &str) -> Resp {
        self.headers.push((n.into(), v.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Resp {
        self.delay = d;
        self
    }
    /// The body in 64 KiB chunks, its length announced nowhere in advance.
    pub fn chunked(mut self) -> Resp {
        self.chunked = true;
        self
    }
}

pub struct Server {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log) = (handler.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Server { url, requests }
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path_only() == path).count()
    }

    /// Asserts that at least one request came and that every one had an
    /// origin-form request line and a `Host` with this server's port.
    pub fn assert_origin_form(&self) {
        let requests = self.requests();
        assert!(!requests.is_empty(), "no request reached {}", self.url);
        let authority = self.url.trim_start_matches("http://");
        for r in &requests {
            assert!(
                r.line.starts_with(&format!("{} /", r.method)) && r.line.ends_with(" HTTP/1.1"),
                "not an origin-form request line: {:?}",
                r.line
            );
            assert_eq!(r.header("host"), Some(authority), "the Host of {:?}", r.line);
        }
    }
}

/// Why an origin server refuses this request line and `Host` (RFC 9112 §3.2), if it does.
fn refusal(target: &str, host: Option<&str>, port: u16) -> Option<String> {
    if !target.starts_with('/') {
        return Some(format!("request target `{target}` is not in origin form (/path?query)"));
    }
    let Some(host) = host else { return Some("no Host header".into()) };
    match host.rsplit_once(':') {
        Some((_, p)) if p == port.to_string() => None,
        _ => Some(format!("Host `{host}` lacks the port {port}")),
    }
}

fn serve(stream: TcpStream, handler: &(dyn Fn(&Req) -> Resp + Send + Sync), log: &Mutex<Vec<Req>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Req { line, method, path, headers, body: String::from_utf8_lossy(&body).into_owned() };
        log.lock().expect("log").push(req.clone());
        let port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
        if let Some(why) = refusal(&req.path, req.header("host"), port) {
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{why}",
                why.len()
            );
            return;
        }
        let resp = handler(&req);
        std::thread::sleep(resp.delay);
        let mut head = if resp.chunked {
            format!("HTTP/1.1 {} X\r\nTransfer-Encoding: chunked\r\n", resp.status)
        } else {
            format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\n", resp.status, resp.body.len())
        };
        for (n, v) in &resp.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let sent = stream.write_all(head.as_bytes()).and_then(|_| {
            if !resp.chunked {
                return stream.write_all(&resp.body);
            }
            for chunk in resp.body.chunks(64 * 1024) {
                stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                stream.write_all(chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")
        });
        if sent.is_err() {
            return;
        }
    }
}
