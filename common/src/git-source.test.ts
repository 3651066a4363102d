import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from './errors';
import { formatGitSource, isGitUrl, parseGitSource, validateGitSource } from './git-source';

test('tells git URLs from directories by docker and buildx rules', () => {
  for (const yes of [
    'https://host/org/repo.git',
    'https://host/org/repo.git#main:sub',
    'http://127.0.0.1:8080/repo.git#v1',
    'git://127.0.0.1:9418/repo.git#main:sub',
    'git://host/repo',
    'ssh://git@host/org/repo.git',
    'git@github.com:org/repo.git#main',
    'github.com/org/repo',
  ]) assert.equal(isGitUrl(yes), true, yes);
  // An http URL without .git is a tarball or a Dockerfile for docker, not a repository.
  for (const no of ['.', './repo.git', '/src/app', 'https://host/ctx.tar.gz', 'https://host/repo', 'file:///srv/repo.git', 'repo.git']) {
    assert.equal(isGitUrl(no), false, no);
  }
});

test('splits URL#ref:subdir', () => {
  assert.deepEqual(parseGitSource('https://host/org/repo.git'), { url: 'https://host/org/repo.git', ref: '', subdir: '' });
  assert.deepEqual(parseGitSource('https://host/org/repo.git#main'), { url: 'https://host/org/repo.git', ref: 'main', subdir: '' });
  assert.deepEqual(parseGitSource('git://127.0.0.1:9418/repo.git#main:sub/dir/'), { url: 'git://127.0.0.1:9418/repo.git', ref: 'main', subdir: 'sub/dir' });
  assert.deepEqual(parseGitSource('https://host/repo.git#:docker'), { url: 'https://host/repo.git', ref: '', subdir: 'docker' });
  assert.deepEqual(parseGitSource('git@github.com:org/repo.git#refs/pull/42/head:./app'), { url: 'git@github.com:org/repo.git', ref: 'refs/pull/42/head', subdir: 'app' });
  assert.deepEqual(parseGitSource('ssh://git@host:2222/repo.git#v1.2'), { url: 'ssh://git@host:2222/repo.git', ref: 'v1.2', subdir: '' });
  assert.deepEqual(parseGitSource('github.com/org/repo#main'), { url: 'https://github.com/org/repo', ref: 'main', subdir: '' });
  assert.equal(formatGitSource(parseGitSource('git://h/r.git#main:sub')), 'git://h/r.git#main:sub');
  assert.equal(formatGitSource(parseGitSource('git://h/r.git')), 'git://h/r.git');
});

function refused(text: string, words: RegExp): void {
  assert.throws(() => parseGitSource(text), (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, String(err));
    assert.equal(err.field, 'context');
    assert.match(err.message, words);
    return true;
  }, text);
}

test('refuses transports that read the disk or run commands, and credentials', () => {
  refused('file:///srv/repo.git#main', /not an allowed git transport.*https, http, git, ssh/);
  refused('ext::sh -c touch% /tmp/x', /not an allowed git transport|not a git URL/);
  refused('https://user:s3cret@host/repo.git', /carries credentials/);
  refused('https://TOKEN@host/repo.git', /carries credentials/);
  assert.doesNotMatch(String((() => { try { parseGitSource('https://u:s3cret@h/r.git'); } catch (e) { return e; } })()), /s3cret/);
  refused('git@host:-oProxyCommand=x', /starting with "-"/);
  refused('https://host/', /no repository path/);
  refused(`https://host/${'r'.repeat(3000)}.git`, /the git url is 3\d{3} characters, over 2048/);
});

test('refuses bad refs and subdirs outside the repository, naming the fix', () => {
  refused('https://host/repo.git#ma in', /not a git ref/);
  refused('https://host/repo.git#a..b', /not a git ref/);
  refused('https://host/repo.git#-upload-pack=x', /not a git ref/);
  refused('https://host/repo.git#main:../etc', /outside the repository/);
  refused('https://host/repo.git#main:/etc', /outside the repository/);
  assert.throws(() => validateGitSource({ url: '', ref: '', subdir: '' }), /context: the git URL is empty/);
  assert.deepEqual(validateGitSource({ url: 'git://h/r.git', ref: 'main', subdir: '.' }), { url: 'git://h/r.git', ref: 'main', subdir: '' });
});
