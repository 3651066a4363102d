import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDockerfile } from './dockerfile-analysis';

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
