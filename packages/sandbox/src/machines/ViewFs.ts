/**
 * A filesystem that is a live view of state: before every operation `refresh(path)` brings the
 * affected files up to date (pmxcfs's `/etc/pve` rendered from LabState, `/proc` rendered per read),
 * and after a write `written(path)` lets state parse it back (guest `.conf` writes). Backed by an
 * `InMemoryFs`, so metadata (modes, mtimes of unchanged files) stays stable between reads.
 */
import { InMemoryFs, type FsStat, type IFileSystem } from "just-bash"

type WriteOptions = Parameters<IFileSystem["writeFile"]>[2]
type ReadOptions = Parameters<IFileSystem["readFile"]>[1]

/** Hooks of a view. */
export interface ViewHooks {
  /** Makes `path` (and, for directories, their listing) current in `inner`. */
  readonly refresh: (inner: InMemoryFs, path: string) => Promise<void> | void
  /** Called after a successful write/rename/remove touching `path`. */
  readonly written?: (inner: InMemoryFs, path: string) => Promise<void> | void
  /** Read-only view (writes fail with EROFS). */
  readonly readOnly?: boolean
}

const erofs = (path: string) => Object.assign(new Error(`EROFS: read-only file system, '${path}'`), { code: "EROFS" })

/** The view filesystem. */
export class ViewFs implements IFileSystem {
  constructor(
    readonly inner: InMemoryFs,
    private readonly hooks: ViewHooks
  ) {}

  private async r(path: string) {
    await this.hooks.refresh(this.inner, path)
  }
  private async w(path: string) {
    if (this.hooks.readOnly) throw erofs(path)
  }
  private async after(path: string) {
    await this.hooks.written?.(this.inner, path)
  }

  async readFile(path: string, options?: ReadOptions): Promise<string> {
    await this.r(path)
    return this.inner.readFile(path, options)
  }
  async readFileBuffer(path: string): Promise<Uint8Array> {
    await this.r(path)
    return this.inner.readFileBuffer(path)
  }
  async writeFile(path: string, content: string | Uint8Array, options?: WriteOptions): Promise<void> {
    await this.w(path)
    await this.inner.writeFile(path, content, options)
    await this.after(path)
  }
  async appendFile(path: string, content: string | Uint8Array, options?: WriteOptions): Promise<void> {
    await this.w(path)
    await this.r(path)
    await this.inner.appendFile(path, content, options)
    await this.after(path)
  }
  async exists(path: string): Promise<boolean> {
    await this.r(path)
    return this.inner.exists(path)
  }
  async stat(path: string): Promise<FsStat> {
    await this.r(path)
    return this.inner.stat(path)
  }
  async lstat(path: string): Promise<FsStat> {
    await this.r(path)
    return this.inner.lstat(path)
  }
  async mkdir(path: string, options?: { recursive?: boolean }): Promise<void> {
    await this.w(path)
    await this.inner.mkdir(path, options)
  }
  async readdir(path: string): Promise<string[]> {
    await this.r(path)
    return this.inner.readdir(path)
  }
  async rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void> {
    await this.w(path)
    await this.inner.rm(path, options)
    await this.after(path)
  }
  async cp(src: string, dest: string, options?: { recursive?: boolean }): Promise<void> {
    await this.w(dest)
    await this.r(src)
    await this.inner.cp(src, dest, options)
    await this.after(dest)
  }
  async mv(src: string, dest: string): Promise<void> {
    await this.w(dest)
    await this.r(src)
    await this.inner.mv(src, dest)
    await this.after(dest)
  }
  resolvePath(base: string, path: string): string {
    return this.inner.resolvePath(base, path)
  }
  getAllPaths(): string[] {
    return this.inner.getAllPaths()
  }
  async chmod(path: string, mode: number): Promise<void> {
    await this.w(path)
    await this.r(path)
    await this.inner.chmod(path, mode)
  }
  async symlink(target: string, linkPath: string): Promise<void> {
    await this.w(linkPath)
    await this.inner.symlink(target, linkPath)
  }
  async link(existingPath: string, newPath: string): Promise<void> {
    await this.w(newPath)
    await this.inner.link(existingPath, newPath)
  }
  async readlink(path: string): Promise<string> {
    await this.r(path)
    return this.inner.readlink(path)
  }
  async realpath(path: string): Promise<string> {
    await this.r(path)
    return this.inner.realpath(path)
  }
  async utimes(path: string, atime: Date, mtime: Date): Promise<void> {
    await this.w(path)
    await this.r(path)
    await this.inner.utimes(path, atime, mtime)
  }
}

/** Writes `content` into `fs` at `path` only when it differs (keeps mtime stable), creating parents. */
export const sync = async (fs: InMemoryFs, path: string, content: string | Uint8Array, mode: number, mtime?: Date): Promise<void> => {
  const next = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content)
  let same = false
  try {
    const cur = Buffer.from(await fs.readFileBuffer(path))
    same = cur.equals(next)
  } catch {
    same = false
  }
  if (!same) {
    const dir = path.slice(0, path.lastIndexOf("/")) || "/"
    if (!(await fs.exists(dir))) await fs.mkdir(dir, { recursive: true })
    await fs.writeFile(path, next)
    await fs.chmod(path, mode)
    if (mtime) await fs.utimes(path, mtime, mtime)
  }
}
