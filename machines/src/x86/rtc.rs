//! The PC's MC146818 real-time clock and CMOS RAM at ports 0x70 (index; bit 7, the NMI
//! mask, is ignored) and 0x71 (data), as QEMU's microvm has it: the date and time from the
//! host's clock (UTC) in BCD or binary and 12- or 24-hour form as register B says, register A
//! with UIP clear (the registers are always readable), register D with VRT set, and 114 bytes
//! of CMOS RAM. Writing a time or date register moves the guest's clock by the difference.
//! Not modelled: the periodic, alarm and update-ended interrupts (IRQ 8); enabling one in
//! register B is noted on stderr once, and register C reads 0.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use xlat_softmmu::system::MmioDevice;

/// The RTC's first port.
pub const PORT: u16 = 0x70;

#[derive(Debug)]
struct State {
    index: u8,
    /// CMOS bytes (registers 0x00-0x0d are computed or kept here).
    ram: [u8; 128],
    /// Guest time minus host time, seconds.
    offset: i64,
    noted_irq: bool,
}

/// The RTC and CMOS RAM.
#[derive(Debug)]
pub struct Rtc {
    st: Mutex<State>,
}

impl Default for Rtc {
    fn default() -> Self {
        Self::new()
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Time fields: sec, min, hour, weekday (1 = Sunday), day, month, year, century.
fn fields(t: i64) -> [u32; 8] {
    let days = t.div_euclid(86_400);
    let s = t.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let wday = ((days + 4).rem_euclid(7) + 1) as u32;
    [
        s % 60,
        s / 60 % 60,
        s / 3600,
        wday,
        d,
        m,
        y.rem_euclid(100) as u32,
        y.div_euclid(100) as u32,
    ]
}

fn seconds(f: &[u32; 8]) -> i64 {
    let y = i64::from(f[7]) * 100 + i64::from(f[6]);
    days_from_civil(y, f[5].clamp(1, 12), f[4].clamp(1, 31)) * 86_400
        + i64::from(f[2]) * 3600
        + i64::from(f[1]) * 60
        + i64::from(f[0])
}

/// Register index -> slot in [`fields`].
fn slot(reg: u8) -> Option<usize> {
    Some(match reg {
        0x00 => 0,
        0x02 => 1,
        0x04 => 2,
        0x06 => 3,
        0x07 => 4,
        0x08 => 5,
        0x09 => 6,
        0x32 => 7,
        _ => return None,
    })
}

fn host_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Rtc {
    /// The RTC at reset: 24-hour BCD mode, interrupts off.
    pub fn new() -> Rtc {
        let mut ram = [0u8; 128];
        ram[0x0a] = 0x26; // 32.768 kHz time base, 1024 Hz rate
        ram[0x0b] = 0x02; // 24-hour, BCD
        ram[0x0d] = 0x80; // valid RAM and time
        Rtc {
            st: Mutex::new(State {
                index: 0,
                ram,
                offset: 0,
                noted_irq: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of field `i` in the guest's format (register B: binary, 24-hour).
    fn encode(b: u8, i: usize, v: u32) -> u8 {
        let mut v = v;
        let mut pm = 0;
        if i == 2 && b & 2 == 0 {
            pm = if v >= 12 { 0x80 } else { 0 };
            v = match v % 12 {
                0 => 12,
                h => h,
            };
        }
        let v = v as u8;
        let enc = if b & 4 != 0 {
            v
        } else {
            ((v / 10) << 4) | (v % 10)
        };
        enc | pm
    }

    fn decode(b: u8, i: usize, v: u8) -> u32 {
        let pm = i == 2 && b & 2 == 0 && v & 0x80 != 0;
        let raw = if i == 2 && b & 2 == 0 { v & 0x7f } else { v };
        let mut n = if b & 4 != 0 {
            u32::from(raw)
        } else {
            u32::from(raw >> 4) * 10 + u32::from(raw & 15)
        };
        if i == 2 && b & 2 == 0 {
            n %= 12;
            if pm {
                n += 12;
            }
        }
        n
    }
}

impl MmioDevice for Rtc {
    fn read(&self, offset: u64, _size: u8) -> u64 {
        let s = self.lock();
        if offset == 0 {
            return u64::from(s.index);
        }
        let r = s.index;
        let b = s.ram[0x0b];
        u64::from(match r {
            0x0c => 0,
            _ => match slot(r) {
                Some(i) => Self::encode(b, i, fields(host_now() + s.offset)[i]),
                None => s.ram[usize::from(r)],
            },
        })
    }

    fn write(&self, offset: u64, _size: u8, value: u64) {
        let v = value as u8;
        let mut s = self.lock();
        if offset == 0 {
            s.index = v & 0x7f;
            return;
        }
        let r = s.index;
        let b = s.ram[0x0b];
        match r {
            0x0a => s.ram[0x0a] = v & 0x7f,
            0x0b => {
                if v & 0x70 != 0 && !s.noted_irq {
                    s.noted_irq = true;
                    eprintln!(
                        "xlat: the RTC's interrupts (register B {v:#04x}) are not modelled; \
                         IRQ 8 never fires"
                    );
                }
                s.ram[0x0b] = v;
            }
            0x0c | 0x0d => {}
            _ => match slot(r) {
                Some(i) => {
                    let now = host_now();
                    let mut f = fields(now + s.offset);
                    f[i] = Self::decode(b, i, v);
                    if i != 3 {
                        s.offset = seconds(&f) - now;
                    }
                }
                None => s.ram[usize::from(r)] = v,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2000-03-01 is day 11017 (Python: date(2000,3,1) - date(1970,1,1)).
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for d in [-1000, 0, 59, 60, 11_016, 11_017, 20_000, 30_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        // 1970-01-01 was a Thursday (weekday 5 with Sunday = 1).
        assert_eq!(fields(0)[3], 5);
    }

    #[test]
    fn registers_follow_the_host_clock_in_bcd_and_writes_move_it() {
        let rtc = Rtc::new();
        let rd = |r: u8| {
            rtc.write(0, 1, u64::from(r));
            rtc.read(1, 1) as u8
        };
        assert_eq!(rd(0x0a) & 0x80, 0, "UIP clear");
        assert_eq!(rd(0x0d), 0x80);
        let f = fields(host_now());
        let year = rd(0x09);
        assert_eq!(year, ((f[6] / 10) << 4) as u8 | (f[6] % 10) as u8);
        assert_eq!(rd(0x32), 0x20);
        // Binary mode; set the year to 99 (BCD would be 0x99).
        rtc.write(0, 1, 0x0b);
        rtc.write(1, 1, 0x06);
        rtc.write(0, 1, 0x09);
        rtc.write(1, 1, 99);
        assert_eq!(rd(0x09), 99);
        // CMOS RAM keeps its bytes.
        rtc.write(0, 1, 0x40);
        rtc.write(1, 1, 0x5a);
        assert_eq!(rd(0x40), 0x5a);
    }
}
