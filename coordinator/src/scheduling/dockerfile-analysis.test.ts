import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DOCKERFILE_ANALYSIS_BYTES } from '../security/limits';
import { analyzeDockerfile, instructions } from './dockerfile-analysis';

const lines = (...l: string[]) => l.join('\n');

test('a Go build on $BUILDPLATFORM with a thin final stage cross-compiles', () => {
  const text = lines(
    '# syntax=docker/dockerfile:1',
    'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
    'ARG TARGETOS TARGETARCH',
    'RUN go mod download',
    'RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /app .',
    'FROM alpine:3.20',
    'RUN apk add --no-cache ca-certificates',
    'COPY --from=build /app /app',
  );
  assert.deepEqual(analyzeDockerfile(text), { crossCompile: true, buildPlatformRuns: 2, targetRuns: 1 });
});

test('a single-stage or target-heavy Dockerfile does not', () => {
  assert.deepEqual(analyzeDockerfile('FROM debian\nRUN apt-get update\nRUN make'), { crossCompile: false, buildPlatformRuns: 0, targetRuns: 2 });
  const heavy = lines('FROM --platform=${BUILDPLATFORM} node:20 AS assets', 'RUN npm ci', 'FROM python:3.12', 'RUN pip install -r r.txt', 'RUN python -m compileall .');
  assert.deepEqual(analyzeDockerfile(heavy), { crossCompile: false, buildPlatformRuns: 1, targetRuns: 2 });
});

test('instructions are case-insensitive, ${BUILDPLATFORM} counts, and stages built FROM a build-platform stage inherit it', () => {
  const text = lines('from --platform=${BUILDPLATFORM} rust:1 as Base', 'run cargo fetch', 'FROM base AS compile', 'Run cargo build --release', 'FROM --platform=$TARGETPLATFORM base', 'RUN strip x');
  assert.deepEqual(analyzeDockerfile(text), { crossCompile: true, buildPlatformRuns: 2, targetRuns: 1 });
});

test('continuations join lines; comments and blank lines inside them are dropped', () => {
  const text = lines('FROM alpine', 'RUN apk add \\', '  # a comment that says RUN', '', '    curl \\', 'RUN-looking-word', 'RUN echo two');
  assert.deepEqual(analyzeDockerfile(text), { crossCompile: false, buildPlatformRuns: 0, targetRuns: 2 });
});

test('heredoc bodies are not instructions; <<- strips tabs; <<< is not a heredoc', () => {
  const text = lines(
    'FROM alpine',
    'RUN <<EOF',
    'RUN not an instruction',
    'EOF',
    'COPY <<-"A" /a <<B /b',
    '\tRUN nope',
    '\tA',
    'FROM nope',
    'B',
    'RUN cat <<< "RUN here-string"',
  );
  assert.deepEqual(analyzeDockerfile(text), { crossCompile: false, buildPlatformRuns: 0, targetRuns: 2 });
});

test('the escape parser directive changes the continuation character', () => {
  const text = lines('# escape=`', 'FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk', 'RUN dotnet restore `', '  RUN-not', 'RUN dotnet publish C:\\app\\');
  assert.deepEqual(analyzeDockerfile(text), { crossCompile: true, buildPlatformRuns: 2, targetRuns: 0 });
});

test('tolerates odd input without throwing', () => {
  assert.deepEqual(analyzeDockerfile(''), { crossCompile: false, buildPlatformRuns: 0, targetRuns: 0 });
  assert.deepEqual(analyzeDockerfile('RUN before any FROM\nFROM'), { crossCompile: false, buildPlatformRuns: 0, targetRuns: 0 });
  assert.equal(analyzeDockerfile('FROM x\r\nRUN a \\\r\n b\r\nRUN <<EOF\r\nno end').targetRuns, 2);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = ['FROM ', 'RUN ', '\\', '\n', '<<', 'EOF', '#', ' ', '--platform=$BUILDPLATFORM', 'as', '`', '"', '\r', '\t'];
  for (let i = 0; i < 500; i++) {
    const text = Array.from({ length: 40 }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    const r = analyzeDockerfile(text);
    assert.ok(r.buildPlatformRuns >= 0 && r.targetRuns >= 0);
  }
});

test('instructions() is linear: 1 MiB of continuation lines (threat 2 of issue 15) is read in well under a second', () => {
  const text = `FROM alpine\nRUN ${'a \\\n'.repeat(262_144)}b`;
  const started = performance.now();
  const found = [...instructions(text)];
  const ms = performance.now() - started;
  assert.equal(found.length, 2);
  assert.equal(found[1]!.args.length, 3 * 262_144 + 1, "each 'a \\' becomes 'a ' and a joining space");
  assert.ok(ms < 1000, `took ${Math.round(ms)} ms`);
});

test('a blank or comment line inside a continuation is dropped and the instruction goes on', () => {
  assert.deepEqual([...instructions('RUN a \\\n\n# note\n  b \\\nc\nRUN d \\')], [
    { keyword: 'RUN', args: 'a    b  c' },
    { keyword: 'RUN', args: 'd \\' },
  ]);
});

test('a Dockerfile over the analysis cap is not analysed and counts as not cross-compiling, saying so', () => {
  const big = `FROM --platform=$BUILDPLATFORM golang AS b\nRUN go build\n#${'x'.repeat(MAX_DOCKERFILE_ANALYSIS_BYTES)}`;
  const result = analyzeDockerfile(big);
  assert.equal(result.crossCompile, false);
  assert.match(result.notAnalysed ?? '', /not analysed: over the 256 KiB/);
  assert.equal(analyzeDockerfile(big.slice(0, 60)).notAnalysed, undefined);
});
