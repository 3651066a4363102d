import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js';
import { fsutil } from '@archfarm/proto';
import type { ContextEntry, ContextTree } from './context-tree';
import { selectEntries, type SyncRequest } from './selection';

type Packet = fsutil.Packet;
const { Packet_PacketType: T } = fsutil;

/** fsutil's own chunk size for file data. */
const CHUNK = 32 * 1024;

/**
 * Serves one DiffCopy call: the sending half of fsutil's protocol (tonistiigi/fsutil send.go),
 * written here because no JavaScript library speaks it. Stats of every chosen entry go first,
 * in walk order, ended by an empty stat; an entry's id is its index in that order. The engine
 * then asks for the files it lacks (REQ id), gets each as DATA chunks ended by an empty DATA,
 * and ends with FIN, answered with FIN. Files go one at a time, so memory stays at one chunk.
 */
export function serveDiffCopy(tree: ContextTree, dirs: Record<string, string>, call: ServerDuplexStream<Packet, Packet>): void {
  const req = syncRequest(call.metadata, dirs);
  if (req === undefined) {
    call.destroy(new Error(`no access allowed to dir ${JSON.stringify(call.metadata.get('dir-name')[0] ?? '')}`));
    return;
  }
  const prefix = req.dir === '' ? '' : `${req.dir}/`;
  const chosen = selectEntries(tree.entries, req);
  const files = new Map<number, string>();
  chosen.forEach((e, id) => {
    if (e.kind === 'file') files.set(id, prefix + e.path);
  });
  let queue = Promise.resolve();
  const fail = (err: unknown): void => {
    call.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  call.on('data', (p: Packet) => {
    if (p.type === T.PACKET_REQ) {
      const path = files.get(p.ID);
      files.delete(p.ID);
      if (path === undefined) return fail(new Error(`invalid file id ${p.ID}`));
      queue = queue.then(() => sendFile(tree, path, p.ID, call)).catch(fail);
    } else if (p.type === T.PACKET_FIN) {
      queue = queue.then(async () => {
        await write(call, packet(T.PACKET_FIN));
        call.end();
      }, fail);
    } else if (p.type === T.PACKET_ERR) {
      fail(new Error(`error from the engine: ${p.data.toString()}`));
    }
  });
  call.on('error', () => undefined); // a cancelled build closes the call; nothing to report
  void sendStats(chosen, call).catch(fail);
}

async function sendStats(entries: readonly ContextEntry[], call: ServerDuplexStream<Packet, Packet>): Promise<void> {
  for (const e of entries) await write(call, { ...packet(T.PACKET_STAT), stat: toStat(e) });
  await write(call, packet(T.PACKET_STAT));
}

async function sendFile(tree: ContextTree, path: string, id: number, call: ServerDuplexStream<Packet, Packet>): Promise<void> {
  for await (const chunk of tree.open(path) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i += CHUNK) await write(call, { ...packet(T.PACKET_DATA), ID: id, data: chunk.subarray(i, i + CHUNK) });
  }
  await write(call, { ...packet(T.PACKET_DATA), ID: id });
}

function packet(type: fsutil.Packet_PacketType): Packet {
  return { type, stat: undefined, ID: 0, data: Buffer.alloc(0) };
}

/** Honours HTTP/2 flow control: a large context must not pile up in memory. */
function write(call: ServerDuplexStream<Packet, Packet>, p: Packet): Promise<void> {
  if (call.destroyed) return Promise.reject(new Error('the engine closed the file sync'));
  if (call.write(p)) return Promise.resolve();
  return new Promise((resolve) => call.once('drain', () => resolve()));
}

// Go's os.FileMode bits, which fsutil's Stat.mode carries.
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_STICKY = 2 ** 20;

/** Exported for tests. */
export function toStat(e: ContextEntry): fsutil.Stat {
  let mode = e.mode & 0o777;
  if (e.mode & 0o4000) mode += GO_SETUID;
  if (e.mode & 0o2000) mode += GO_SETGID;
  if (e.mode & 0o1000) mode += GO_STICKY;
  if (e.kind === 'dir') mode += GO_DIR;
  if (e.kind === 'symlink') mode += GO_SYMLINK;
  return {
    path: e.path,
    mode,
    uid: e.uid,
    gid: e.gid,
    size: e.size,
    // Whole seconds times 1e9 stay exact in a double until the year 2116.
    modTime: e.mtime * 1e9,
    linkname: e.linkname,
    devmajor: 0,
    devminor: 0,
    xattrs: {},
  };
}

/**
 * The call's request, from its metadata (filesync.go's keys); values that BuildKit escaped are
 * marked `KEY-encoded`. `dirs` maps the session's directory names ("context", "dockerfile") to
 * directories of the tree; undefined for a name the session does not serve.
 */
export function syncRequest(md: Metadata, dirs: Record<string, string>): SyncRequest | undefined {
  const name = values(md, 'dir-name')[0] ?? '';
  const dir = Object.hasOwn(dirs, name) ? dirs[name] : undefined;
  if (dir === undefined) return undefined;
  return { dir, includes: values(md, 'include-patterns'), excludes: values(md, 'exclude-patterns'), followPaths: values(md, 'followpaths') };
}

function values(md: Metadata, key: string): string[] {
  // Node's HTTP/2 joins repeated header fields with ", ".
  const raw = md.get(key).flatMap((v) => String(v).split(', ')).filter((v) => v !== '');
  const encoded = md.get(`${key}-encoded`).some((v) => ['1', 'true'].includes(String(v).toLowerCase()));
  return encoded ? raw.map((v) => decodeURIComponent(v.replaceAll('+', ' '))) : raw;
}
