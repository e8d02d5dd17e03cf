import picomatch from 'picomatch';

/**
 * Matches object keys against a stream's globs, which are relative to the
 * configured path prefix. Also works out the narrowest prefix that still
 * holds every possible match, so listing does not walk the whole bucket.
 */
export class GlobMatcher {
  readonly listPrefix: string;
  private readonly pathPrefix: string;
  private readonly matchers: ((relativeKey: string) => boolean)[];

  constructor(pathPrefix: string, globs: string[], options: { caseInsensitive?: boolean } = {}) {
    this.pathPrefix = pathPrefix;
    // `s` (dotAll): S3 keys may hold line terminators (\n, \r, U+2028, U+2029), which picomatch's
    // `**` would not match without it, and a file silently left out of its stream is lost data.
    // (`flags` replaces picomatch's own `nocase` flag, so case-insensitivity is given here too.)
    this.matchers = globs.map((glob) => picomatch(glob, { dot: true, flags: options.caseInsensitive === true ? 'si' : 's' }));
    this.listPrefix = pathPrefix + commonBase(globs);
  }

  matches(key: string): boolean {
    if (!key.startsWith(this.pathPrefix)) return false;
    const relative = key.slice(this.pathPrefix.length);
    return this.matchers.some((match) => match(relative));
  }
}

/** The folder shared by the literal parts of all globs ('' when any glob starts with a wildcard). */
function commonBase(globs: string[]): string {
  const bases = globs.map((glob) => {
    const { base, isGlob } = picomatch.scan(glob);
    // A glob without wildcards is a literal key: its folder is the base.
    const folder = isGlob ? base : glob.split('/').slice(0, -1).join('/');
    return folder === '' ? [] : folder.split('/');
  });
  const first = bases[0] ?? [];
  let shared = 0;
  while (shared < first.length && bases.every((segments) => segments[shared] === first[shared])) shared++;
  return shared === 0 ? '' : `${first.slice(0, shared).join('/')}/`;
}
