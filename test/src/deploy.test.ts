import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/processes';

/**
 * deploy/ is what ops teams install: the systemd units must pass systemd's own checker, every
 * Kubernetes container must have probes and limits, the compose trial and install script parse.
 */

// js-yaml is hoisted into the root node_modules (an eslint dependency) and ships no types.
const yaml = createRequire(__filename)('js-yaml') as { loadAll(text: string): unknown[] };

const DEPLOY = join(ROOT, 'deploy');
const UNITS = ['archfarm-agent.service', 'archfarm-coordinator.service'];
const HOST_SETUP_HINT = 'run `bash scripts/host-setup.sh` (as root) to install it';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function run(cmd: string, args: string[]): { status: number | null; output: string; missing: boolean } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, missing };
}

function loadYaml(file: string): unknown[] {
  return yaml.loadAll(readFileSync(join(DEPLOY, file), 'utf8')).filter((d) => d !== null && d !== undefined);
}

/** The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job) or of a Pod. */
function podSpecOf(doc: Obj): Obj | undefined {
  if (doc.kind === 'Pod') return isObj(doc.spec) ? doc.spec : undefined;
  const spec = doc.spec;
  if (!isObj(spec) || !isObj(spec.template)) return undefined;
  return isObj(spec.template.spec) ? spec.template.spec : undefined;
}

function containersOf(pod: Obj, key: 'containers' | 'initContainers'): Obj[] {
  const list = pod[key];
  if (list === undefined) return [];
  assert.ok(Array.isArray(list), `${key} is not a list`);
  return list.filter(isObj);
}

/** Every problem with a container's probes and limits, as readable lines. */
function containerProblems(where: string, c: Obj, needsProbes: boolean): string[] {
  const problems: string[] = [];
  const name = `${where} container ${String(c.name)}`;
  if (needsProbes) {
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      if (!isObj(c[probe])) problems.push(`${name}: no ${probe}`);
    }
  }
  const limits = isObj(c.resources) ? c.resources.limits : undefined;
  for (const r of ['cpu', 'memory']) {
    if (!isObj(limits) || limits[r] === undefined) problems.push(`${name}: no resources.limits.${r}`);
  }
  return problems;
}

describe('deploy: systemd units', () => {
  // The units' ExecStart is /usr/bin/env (it finds node on PATH), which exists here, so
  // `verify` can check the repository's files as they are: it fails when the executable is
  // missing, but only warns (exit 0) about unknown keys, so any line naming a unit fails too.
  test('systemd-analyze verify accepts both units without a warning', () => {
    const files = UNITS.map((u) => join(DEPLOY, 'systemd', u));
    const r = run('systemd-analyze', ['verify', ...files]);
    assert.ok(!r.missing, `systemd-analyze is not installed (Debian package systemd): ${HOST_SETUP_HINT}`);
    assert.equal(r.status, 0, `systemd-analyze verify failed:\n${r.output}`);
    const aboutUnits = r.output.split('\n').filter((l) => UNITS.some((u) => l.includes(u)));
    assert.deepEqual(aboutUnits, [], `systemd-analyze verify warned:\n${r.output}`);
  });

  test('the agent runs as a plain user whose only extra group is the engine socket', () => {
    const unit = readFileSync(join(DEPLOY, 'systemd', 'archfarm-agent.service'), 'utf8');
    for (const line of ['User=archfarm', 'SupplementaryGroups=docker', 'NoNewPrivileges=yes', 'ProtectSystem=strict',
      'StateDirectory=archfarm-agent', 'Restart=on-failure', 'EnvironmentFile=/etc/archfarm/agent.env']) {
      assert.match(unit, new RegExp(`^${line}$`, 'm'), `archfarm-agent.service lacks ${line}`);
    }
  });
});

describe('deploy: Kubernetes manifests', () => {
  for (const file of ['k8s/coordinator.yaml', 'k8s/agent-daemonset.yaml']) {
    test(`${file}: every container has readiness and liveness probes and cpu+memory limits`, () => {
      const docs = loadYaml(file);
      assert.ok(docs.length > 0, `${file} holds no document`);
      let containers = 0;
      const problems: string[] = [];
      for (const doc of docs) {
        assert.ok(isObj(doc) && typeof doc.kind === 'string' && typeof doc.apiVersion === 'string', `${file}: a document without kind/apiVersion`);
        const pod = podSpecOf(doc);
        if (!pod) continue;
        const where = `${file} ${doc.kind}`;
        const main = containersOf(pod, 'containers');
        assert.ok(main.length > 0, `${where}: a pod spec without containers`);
        // Kubernetes refuses probes on init containers; they still need limits.
        for (const c of main) problems.push(...containerProblems(where, c, true));
        for (const c of containersOf(pod, 'initContainers')) problems.push(...containerProblems(where, c, false));
        containers += main.length;
      }
      assert.ok(containers > 0, `${file}: no pod spec found`);
      assert.deepEqual(problems, []);
    });
  }

  test('the coordinator is a StatefulSet with a volume for its data dir and a Service on 7420', () => {
    const docs = loadYaml('k8s/coordinator.yaml').filter(isObj);
    const kinds = docs.map((d) => d.kind);
    for (const kind of ['Namespace', 'StatefulSet', 'Service']) assert.ok(kinds.includes(kind), `no ${kind} in coordinator.yaml`);
    const sts = docs.find((d) => d.kind === 'StatefulSet');
    const text = JSON.stringify(sts);
    assert.match(text, /"volumeClaimTemplates"/);
    assert.match(text, /"mountPath":"\/var\/lib\/archfarm"/);
    assert.match(JSON.stringify(docs.find((d) => d.kind === 'Service')), /"port":7420/);
  });
});

describe('deploy: compose trial and install script', () => {
  test('compose.yaml parses and names registry, coordinator and agent (with the engine socket)', () => {
    const [doc, ...rest] = loadYaml('compose.yaml');
    assert.equal(rest.length, 0);
    assert.ok(isObj(doc) && isObj(doc.services), 'compose.yaml has no services');
    assert.deepEqual(Object.keys(doc.services).sort(), ['agent', 'coordinator', 'registry']);
    assert.match(JSON.stringify(doc.services.agent), /\/var\/run\/docker\.sock:\/var\/run\/docker\.sock/);
  });

  test('install-agent.sh parses (bash -n) and passes shellcheck', () => {
    const script = join(DEPLOY, 'install-agent.sh');
    const syntax = run('bash', ['-n', script]);
    assert.equal(syntax.status, 0, `bash -n: ${syntax.output}`);
    const lint = run('shellcheck', ['-x', script]);
    assert.ok(!lint.missing, `shellcheck is not installed: ${HOST_SETUP_HINT}`);
    assert.equal(lint.status, 0, `shellcheck:\n${lint.output}`);
  });
});
