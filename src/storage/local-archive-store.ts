import { copyFile, link, mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { randomUUID } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { ArchiveKeyError, type ArchiveStore, type ByteRange, type StoredObject } from "./archive-store.js";

/** Archive store in a local directory: the embedded default when no bucket is configured. */
export class LocalArchiveStore implements ArchiveStore {
  readonly root: string;
  readonly location: string;
  /** Directories this store has made: a job's second output needs no mkdir. */
  private readonly made = new Set<string>();

  constructor(dir: string) {
    this.root = resolve(dir);
    this.location = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Readable, _contentType: string): Promise<StoredObject> {
    const path = this.pathOf(key);
    // write beside the target and rename: readers never see a half-written file
    const partial = `${path}.partial-${randomUUID()}`;
    const file = (await this.create(partial)).createWriteStream();
    try {
      await pipeline(body, file);
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    // counted while writing: no stat of the result
    return this.describe(key, file.bytesWritten);
  }

  async putBytes(key: string, body: Buffer | string, _contentType: string): Promise<StoredObject> {
    const path = this.pathOf(key);
    const partial = `${path}.partial-${randomUUID()}`;
    const handle = await this.create(partial);
    try {
      await handle.writeFile(body);
    } finally {
      await handle.close();
    }
    await rename(partial, path);
    return this.describe(key, Buffer.byteLength(body));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    // opening first makes a missing key fail here, not on the stream's first read
    const handle = await open(this.pathOf(key));
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const info = await stat(this.pathOf(key)).catch(() => undefined);
    return info?.isFile() ? this.describe(key, info.size) : undefined;
  }

  /** A hard link (a copy where the file system has none), made beside the target and renamed over it. */
  async copy(from: string, to: string): Promise<StoredObject | undefined> {
    const source = this.pathOf(from);
    const info = await stat(source).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const path = this.pathOf(to);
    const partial = `${path}.partial-${randomUUID()}`;
    await makeDir(dirname(path));
    try {
      await link(source, partial).catch(() => copyFile(source, partial));
      await rename(partial, path);
      // renaming a link over the same file (a copy made again) leaves both names: the partial one goes
      await rm(partial, { force: true });
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return this.describe(to, info.size);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  private describe(key: string, bytes: number): StoredObject {
    return { key, url: pathToFileURL(this.pathOf(key)).href, bytes };
  }

  /**
   * Opens a new file for writing. Its directory is made first unless this store made it
   * before; one removed since then shows up as ENOENT and is made again.
   */
  private async create(path: string): Promise<FileHandle> {
    const dir = dirname(path);
    if (this.made.has(dir)) {
      try {
        return await open(path, "w");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    await makeDir(dir);
    // one job's outputs share a directory: remembering the recent ones is enough
    if (this.made.size >= MADE_DIRS_REMEMBERED) this.made.clear();
    this.made.add(dir);
    return open(path, "w");
  }

  /**
   * Keys are relative paths under the root. One that would leave it, or that a file system
   * cannot name (a NUL), is refused with an `ArchiveKeyError` (a rejection, never a throw
   * past the caller): kiln validates prefixes where they enter, and this holds whatever got past.
   */
  private pathOf(key: string): string {
    if (key.includes("\0")) throw new ArchiveKeyError(`archive key holds a NUL character: ${JSON.stringify(key)}`);
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new ArchiveKeyError(`archive key escapes the archive directory: ${JSON.stringify(key)}`);
    return path;
  }
}

const MADE_DIRS_REMEMBERED = 1024;

/**
 * `mkdir -p` for a directory whose parent usually exists (a job's own under the prefix's): one
 * plain mkdir, and the recursive walk only when a parent is missing. Node's recursive mkdir
 * costs about five times the CPU of a plain one even when one level is all it makes.
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "ENOENT") throw err;
    await mkdir(dir, { recursive: true });
  }
}
