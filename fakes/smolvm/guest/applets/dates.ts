/**
 * Time for `date` and `touch -d`: libbb/time.c `parse_datestr`'s formats (the guest's zone is
 * UTC: the Alpine rootfs has no /etc/localtime) and a `strftime` for the conversions scripts use.
 */
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const FULL_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FULL_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Milliseconds since the epoch for `text`, or undefined when busybox would say "invalid date". */
export function parseDate(text: string, now: number): number | undefined {
  if (/^@-?\d+$/.test(text)) return Number(text.slice(1)) * 1000;
  const today = new Date(now);
  const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number | undefined => {
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    return Number.isNaN(ms) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 ? undefined : ms;
  };
  let m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (m) return utc(today.getUTCFullYear(), today.getUTCMonth() + 1, today.getUTCDate(), Number(m[1]), Number(m[2]), Number(m[3] ?? 0));
  m = /^(?:(\d{4})\.)?(\d{1,2})\.(\d{1,2})-(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (m) return utc(Number(m[1] ?? today.getUTCFullYear()), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2})(?::(\d{2})(?::(\d{2}))?)?)?(?: ?([+-])(\d{2}):?(\d{2}))?$/.exec(text);
  if (m) {
    const ms = utc(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
    if (ms === undefined || m[7] === undefined) return ms;
    return ms - (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) * 60_000;
  }
  m = /^(\d{2})(\d{2})(\d{2})(\d{2})((?:\d{2})?\d{2})?(?:\.(\d{2}))?$/.exec(text);
  if (m) {
    const year = m[5] === undefined ? today.getUTCFullYear() : m[5].length === 2 ? 2000 + Number(m[5]) : Number(m[5]);
    return utc(year, Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[6] ?? 0));
  }
  return undefined;
}

const pad = (n: number, width = 2, fill = '0'): string => String(n).padStart(width, fill);

/** `strftime` in UTC for the common conversions; an unknown one is copied through. */
export function strftime(format: string, ms: number): string {
  const d = new Date(ms);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const yday = Math.floor((ms - start) / 86_400_000) + 1;
  const conv: Record<string, () => string> = {
    a: () => DAYS[d.getUTCDay()] as string,
    A: () => FULL_DAYS[d.getUTCDay()] as string,
    b: () => MONTHS[d.getUTCMonth()] as string,
    h: () => MONTHS[d.getUTCMonth()] as string,
    B: () => FULL_MONTHS[d.getUTCMonth()] as string,
    c: () => strftime('%a %b %e %H:%M:%S %Y', ms),
    C: () => pad(Math.floor(d.getUTCFullYear() / 100)),
    d: () => pad(d.getUTCDate()),
    D: () => strftime('%m/%d/%y', ms),
    e: () => pad(d.getUTCDate(), 2, ' '),
    F: () => strftime('%Y-%m-%d', ms),
    H: () => pad(d.getUTCHours()),
    I: () => pad(d.getUTCHours() % 12 || 12),
    j: () => pad(yday, 3),
    k: () => pad(d.getUTCHours(), 2, ' '),
    l: () => pad(d.getUTCHours() % 12 || 12, 2, ' '),
    m: () => pad(d.getUTCMonth() + 1),
    M: () => pad(d.getUTCMinutes()),
    n: () => '\n',
    N: () => pad((ms % 1000) * 1_000_000, 9),
    p: () => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
    P: () => (d.getUTCHours() < 12 ? 'am' : 'pm'),
    r: () => strftime('%I:%M:%S %p', ms),
    R: () => strftime('%H:%M', ms),
    s: () => String(Math.floor(ms / 1000)),
    S: () => pad(d.getUTCSeconds()),
    t: () => '\t',
    T: () => strftime('%H:%M:%S', ms),
    u: () => String(d.getUTCDay() || 7),
    w: () => String(d.getUTCDay()),
    x: () => strftime('%m/%d/%y', ms),
    X: () => strftime('%H:%M:%S', ms),
    y: () => pad(d.getUTCFullYear() % 100),
    Y: () => String(d.getUTCFullYear()),
    z: () => '+0000',
    Z: () => 'UTC',
    '%': () => '%',
  };
  return format.replace(/%(.)/gs, (m, c: string) => conv[c]?.() ?? m);
}
