/** libbb/parse_mode.c `bb_parse_mode`: octal, or symbolic clauses like `u+x,go-w,a=r`. */
export function applyMode(spec: string, current: number, isDir: boolean): number | undefined {
  if (/^[0-7]{1,4}$/.test(spec)) return Number.parseInt(spec, 8);
  let mode = current & 0o7777;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([+\-=])([rwxXst]*)$/.exec(clause);
    if (!m) return undefined;
    const [, who = '', op, perms = ''] = m;
    const targets = who === '' || who.includes('a') ? 'ugo' : who;
    let bits = 0;
    for (const t of targets) {
      const shift = t === 'u' ? 6 : t === 'g' ? 3 : 0;
      if (perms.includes('r')) bits |= 4 << shift;
      if (perms.includes('w')) bits |= 2 << shift;
      if (perms.includes('x') || (perms.includes('X') && (isDir || (current & 0o111) !== 0))) bits |= 1 << shift;
      if (perms.includes('s') && t !== 'o') bits |= t === 'u' ? 0o4000 : 0o2000;
      if (perms.includes('t') && t === 'o') bits |= 0o1000;
    }
    if (op === '+') mode |= bits;
    else if (op === '-') mode &= ~bits;
    else {
      let clear = 0;
      for (const t of targets) clear |= t === 'u' ? 0o4700 : t === 'g' ? 0o2070 : 0o1007;
      mode = (mode & ~clear) | bits;
    }
  }
  return mode;
}
