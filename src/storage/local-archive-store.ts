import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { randomUUID } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import type { ArchiveStore, StoredObject } from "./archive-store.js";

/** Archive store in a local directory: the embedded default when no bucket is configured. */
export class LocalArchiveStore implements ArchiveStore {
  readonly root: string;
  readonly location: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.location = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Readable, _contentType: string): Promise<StoredObject> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // write beside the target and rename: readers never see a half-written file
    const partial = `${path}.partial-${randomUUID()}`;
    try {
      await pipeline(body, createWriteStream(partial));
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return this.describe(key, (await stat(path)).size);
  }

  async putBytes(key: string, body: Buffer | string, _contentType: string): Promise<StoredObject> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial-${randomUUID()}`;
    await writeFile(partial, body);
    await rename(partial, path);
    return this.describe(key, Buffer.byteLength(body));
  }

  async get(key: string): Promise<Readable> {
    await stat(this.pathOf(key));
    return createReadStream(this.pathOf(key));
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const info = await stat(this.pathOf(key)).catch(() => undefined);
    return info?.isFile() ? this.describe(key, info.size) : undefined;
  }

  private describe(key: string, bytes: number): StoredObject {
    return { key, url: pathToFileURL(this.pathOf(key)).href, bytes };
  }

  /** Keys are relative paths; one that would escape the root is a bug upstream, so refuse it. */
  private pathOf(key: string): string {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new Error(`archive key escapes the archive directory: ${key}`);
    return path;
  }
}
