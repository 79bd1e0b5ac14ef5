/**
 * Walk order: depth first, children in lexical order of their names. So `/a`, `/a/x`, `/a-b`:
 * everything below `/a` comes before its sibling `/a-b`, although `'/a-b' < '/a/x'` as plain
 * strings. Every driver emits in this order, and startAfterHint is interpreted in it.
 */
import { pathComponents } from '../paths';

/** Compares two paths in walk order: negative if `a` is walked before `b`. */
export function compareWalkOrder(a: string, b: string): number {
  if (a === b) return 0;
  const ca = pathComponents(a);
  const cb = pathComponents(b);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    if (ca[i] !== cb[i]) return ca[i]! < cb[i]! ? -1 : 1;
  }
  return ca.length - cb.length;
}

/** Lexical comparison of component names (code-unit order, which is byte order for valid names). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
