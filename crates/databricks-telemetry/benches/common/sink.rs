//! A minimal HTTP/1.1 sink on loopback: reads each request whole and answers `200 {}` without
//! looking at the body, so a bench can time the client's side of an upload (serialisation plus
//! HTTP) without the strict endpoint's validation competing for the same cores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

/// The running sink; stops when dropped.
#[derive(Debug)]
pub(crate) struct LoopbackSink {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    acceptor: Option<JoinHandle<()>>,
}

impl LoopbackSink {
    pub(crate) fn start() -> LoopbackSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("the sink's address");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let acceptor = {
            let (stop, requests) = (Arc::clone(&stop), Arc::clone(&requests));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let requests = Arc::clone(&requests);
                        std::thread::spawn(move || serve(stream, &requests));
                    }
                }
            })
        };
        LoopbackSink {
            addr,
            stop,
            requests,
            acceptor: Some(acceptor),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for LoopbackSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the acceptor, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(stream: TcpStream, requests: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut body = Vec::new();
    loop {
        let mut content_length = 0usize;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        body.resize(content_length, 0);
        if reader.read_exact(&mut body).is_err() || writer.write_all(RESPONSE).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// A host that hangs: a loopback listener that accepts every connection, reads what it is sent
/// and never answers, until [`hang_up`](Self::hang_up) closes the connections it holds.
#[derive(Debug)]
pub(crate) struct HangingHost {
    addr: SocketAddr,
    state: Arc<HangState>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct HangState {
    stop: AtomicBool,
    /// Requests begun: connections that sent their first bytes.
    requests: AtomicU64,
    /// The connections held open, unanswered.
    held: std::sync::Mutex<Vec<TcpStream>>,
}

impl HangingHost {
    pub(crate) fn start() -> HangingHost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("the host's address");
        let state = Arc::new(HangState::default());
        let acceptor = {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if state.stop.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let Ok(reader) = stream.try_clone() else {
                        continue;
                    };
                    state.held.lock().unwrap().push(stream);
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || swallow(reader, &state));
                }
            })
        };
        HangingHost {
            addr,
            state,
            acceptor: Some(acceptor),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests begun so far (connections that sent bytes).
    pub(crate) fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Acquire)
    }

    /// Closes every connection held so far: a client waiting for an answer sees it fail.
    pub(crate) fn hang_up(&self) {
        for stream in self.state.held.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for HangingHost {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        self.hang_up();
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads and discards what one connection sends, never answering; counts its first bytes as a
/// request begun.
fn swallow(mut stream: TcpStream, state: &HangState) {
    let mut buf = [0u8; 16 * 1024];
    let mut counted = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) if !counted => {
                counted = true;
                state.requests.fetch_add(1, Ordering::AcqRel);
            }
            Ok(_) => {}
        }
    }
}
