// Namespace names derived from branch names: valid for the mock (1-64 letters, digits, '-'
// and '_'), the same for the same branch every time, and different for different branches,
// whatever the branch is called (slashes, upper case, unicode, hundreds of characters).

import { createHash } from 'node:crypto';

/** How much of the branch's readable form a name keeps. */
const SLUG_CHARS = 40;
/** Hex digits of the branch's SHA-256 that keep two similar branches apart. */
const HASH_CHARS = 8;

/** The mock's rule for namespace names. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The namespace name of `branch`: `[prefix]<readable part>-<hash>`. The readable part is the
 * branch lower-cased, accents dropped, every run of other characters one '-', cut to 40
 * characters; the hash (8 hex digits of the branch's SHA-256) tells apart branches that read
 * the same ("Feature/X" and "feature-x").
 */
export function namespaceFor(branch, { prefix = '' } = {}) {
  if (typeof branch !== 'string' || branch.length === 0) {
    throw new Error('a branch name is needed to derive a namespace name');
  }
  if (prefix && !/^[a-z0-9][a-z0-9_-]{0,11}$/.test(prefix)) {
    throw new Error(`prefix '${prefix}' must be 1-12 lower-case letters, digits, '-' or '_', starting with a letter or digit`);
  }
  const slug = branch
    .replace(/^refs\/heads\//, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, SLUG_CHARS)
    .replace(/-+$/, '');
  const hash = createHash('sha256').update(branch, 'utf8').digest('hex').slice(0, HASH_CHARS);
  return `${prefix}${slug ? `${slug}-` : ''}${hash}`;
}
