//! The serial console on stdio, as QEMU's `-nographic`: the terminal in raw mode while the
//! machine runs (restored on exit, on panic and on SIGINT/SIGTERM/SIGHUP/SIGQUIT), and
//! QEMU's escapes: Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A sends a Ctrl-A. Stdin
//! that is not a terminal (a pipe, a file) works too; its end simply stops input.

use std::io::{Read, Write};
use std::sync::OnceLock;

/// The escape character, Ctrl-A.
pub const ESCAPE: u8 = 0x01;

/// Help printed for Ctrl-A h.
pub const HELP: &str =
    "\r\nC-a h    print this help\r\nC-a x    exit emulator\r\nC-a C-a  sends C-a\r\n";

/// What one input byte means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Give this byte to the guest.
    Send(u8),
    /// Quit the emulator.
    Quit,
    /// Print [`HELP`].
    Help,
    /// Nothing (the escape itself, or an unknown escape).
    None,
}

/// Recognizes QEMU's Ctrl-A escapes in the input stream.
#[derive(Debug, Default, Clone)]
pub struct EscapeParser {
    escaped: bool,
}

impl EscapeParser {
    /// Interprets one byte.
    pub fn feed(&mut self, b: u8) -> Action {
        if !self.escaped {
            if b == ESCAPE {
                self.escaped = true;
                return Action::None;
            }
            return Action::Send(b);
        }
        self.escaped = false;
        match b {
            ESCAPE => Action::Send(ESCAPE),
            b'x' | b'X' => Action::Quit,
            b'h' | b'H' | b'?' => Action::Help,
            _ => Action::None,
        }
    }
}

static SAVED: OnceLock<libc::termios> = OnceLock::new();

fn restore_saved() {
    if let Some(t) = SAVED.get() {
        // SAFETY: tcsetattr on fd 0 with a termios obtained from tcgetattr; async-signal-safe.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, t);
        }
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    restore_saved();
    // SAFETY: resetting the disposition and re-raising are async-signal-safe; the default
    // action then terminates the process as it would have without the handler.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Raw mode on stdin while alive (when stdin is a terminal); restores the terminal on drop.
#[derive(Debug)]
pub struct RawTerminal {
    active: bool,
}

impl RawTerminal {
    /// Puts a terminal stdin in raw mode (no echo, no line editing, no signals from keys:
    /// Ctrl-C goes to the guest; output post-processing kept so `\n` still returns the
    /// carriage). Does nothing when stdin is not a terminal.
    pub fn enter() -> RawTerminal {
        // SAFETY: isatty only inspects fd 0.
        if unsafe { libc::isatty(0) } != 1 {
            return RawTerminal { active: false };
        }
        // SAFETY: a zeroed termios is a valid out-buffer for tcgetattr.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 is a terminal; `t` is a valid termios.
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return RawTerminal { active: false };
        }
        let _ = SAVED.set(t);
        let mut raw = t;
        raw.c_iflag &= !(libc::IGNBRK
            | libc::BRKINT
            | libc::PARMRK
            | libc::ISTRIP
            | libc::INLCR
            | libc::IGNCR
            | libc::ICRNL
            | libc::IXON);
        raw.c_oflag |= libc::OPOST;
        raw.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::IEXTEN | libc::ISIG);
        raw.c_cflag &= !(libc::CSIZE | libc::PARENB);
        raw.c_cflag |= libc::CS8;
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_saved();
            prev(info);
        }));
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            // SAFETY: installs a handler that only calls async-signal-safe functions.
            unsafe {
                libc::signal(sig, on_signal as *const () as libc::sighandler_t);
            }
        }
        // SAFETY: fd 0 is a terminal; `raw` is a valid termios.
        let ok = unsafe { libc::tcsetattr(0, libc::TCSANOW, &raw) } == 0;
        RawTerminal { active: ok }
    }

    /// Whether the terminal was switched to raw mode.
    pub fn is_raw(&self) -> bool {
        self.active
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if self.active {
            restore_saved();
        }
    }
}

/// Copies `input` to `to_guest` through the escape parser until the input ends or Ctrl-A x;
/// help goes to `out`. Returns true when the user asked to quit.
pub fn pump(mut input: impl Read, mut out: impl Write, mut to_guest: impl FnMut(&[u8])) -> bool {
    let mut p = EscapeParser::default();
    let mut buf = [0u8; 256];
    let mut send = Vec::with_capacity(256);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        send.clear();
        for &b in &buf[..n] {
            match p.feed(b) {
                Action::Send(c) => send.push(c),
                Action::Quit => {
                    if !send.is_empty() {
                        to_guest(&send);
                    }
                    let _ = out.write_all(b"QEMU: Terminated\r\n");
                    let _ = out.flush();
                    return true;
                }
                Action::Help => {
                    let _ = out.write_all(HELP.as_bytes());
                    let _ = out.flush();
                }
                Action::None => {}
            }
        }
        if !send.is_empty() {
            to_guest(&send);
        }
    }
}

/// Starts the stdio console: raw mode (kept by the returned guard), a thread feeding stdin to
/// `to_guest`, and `on_quit` called on Ctrl-A x (e.g. the board's shutdown request).
pub fn stdio(
    to_guest: impl FnMut(&[u8]) + Send + 'static,
    on_quit: impl FnOnce() + Send + 'static,
) -> RawTerminal {
    let guard = RawTerminal::enter();
    std::thread::spawn(move || {
        if pump(std::io::stdin(), std::io::stderr(), to_guest) {
            restore_saved();
            on_quit();
        }
    });
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_in_qemu() {
        let mut p = EscapeParser::default();
        let acts: Vec<Action> = b"a\x01\x01b\x01hc\x01zd\x01x"
            .iter()
            .map(|&b| p.feed(b))
            .collect();
        use Action::*;
        assert_eq!(
            acts,
            [
                Send(b'a'),
                None,
                Send(1),
                Send(b'b'),
                None,
                Help,
                Send(b'c'),
                None,
                None,
                Send(b'd'),
                None,
                Quit
            ]
        );
    }

    #[test]
    fn pump_stops_at_quit_or_end() {
        let mut got = Vec::new();
        let mut out = Vec::new();
        assert!(pump(
            &b"ls\r\x01\x01\x01hrest\x01xafter"[..],
            &mut out,
            |b| got.extend_from_slice(b)
        ));
        assert_eq!(got, b"ls\r\x01rest");
        assert!(String::from_utf8_lossy(&out).contains("C-a x"));
        got.clear();
        assert!(!pump(&b"plain pipe input\n"[..], Vec::new(), |b| got
            .extend_from_slice(b)));
        assert_eq!(got, b"plain pipe input\n");
    }

    #[test]
    fn not_a_tty_is_not_raw() {
        // under the test harness stdin is not a terminal (or, interactively, is restored)
        let t = RawTerminal::enter();
        // SAFETY: isatty only inspects fd 0.
        assert_eq!(t.is_raw(), unsafe { libc::isatty(0) } == 1);
    }
}
