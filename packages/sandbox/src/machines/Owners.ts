/**
 * Owner table of a machine: just-bash has no uids/gids (its `stat` always says 1000), so every machine
 * keeps `path -> {uid, gid}` here. Paths not in the table belong to root (0:0), except entries under a
 * prefix rule (e.g. `/etc/pve` is `root:www-data`). Renames move entries; removals drop them.
 */

/** uid/gid of one path. */
export interface Owner {
  readonly uid: number
  readonly gid: number
}

/** Mutable owner table keyed by absolute path. */
export class OwnerTable {
  readonly #entries = new Map<string, Owner>()
  readonly #prefixes: Array<{ readonly prefix: string; readonly owner: Owner }> = []

  /** Everything at or below `prefix` defaults to `owner` (longest prefix wins). */
  setDefault(prefix: string, owner: Owner): void {
    this.#prefixes.push({ prefix, owner })
    this.#prefixes.sort((a, b) => b.prefix.length - a.prefix.length)
  }

  /** Owner of `path` (exact entry, else prefix default, else root). */
  get(path: string): Owner {
    const exact = this.#entries.get(path)
    if (exact) return exact
    for (const { prefix, owner } of this.#prefixes) {
      if (path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`)) return owner
    }
    return ROOT
  }

  set(path: string, owner: Owner): void {
    this.#entries.set(path, owner)
  }

  /** Moves the entry of `from` (and of everything below it) to `to`. */
  move(from: string, to: string): void {
    const moved: Array<[string, Owner]> = []
    for (const [p, o] of this.#entries) {
      if (p === from || p.startsWith(`${from}/`)) moved.push([p, o])
    }
    this.remove(to)
    for (const [p] of moved) this.#entries.delete(p)
    for (const [p, o] of moved) this.#entries.set(to + p.slice(from.length), o)
  }

  /** Drops the entry of `path` and everything below it. */
  remove(path: string): void {
    for (const p of [...this.#entries.keys()]) {
      if (p === path || p.startsWith(`${path}/`)) this.#entries.delete(p)
    }
  }

  /** Copies entries below `from` to `to` (a snapshot/restore helper). */
  snapshot(): ReadonlyMap<string, Owner> {
    return new Map(this.#entries)
  }

  restore(entries: ReadonlyMap<string, Owner>): void {
    this.#entries.clear()
    for (const [p, o] of entries) this.#entries.set(p, o)
  }
}

const ROOT: Owner = { uid: 0, gid: 0 }

/** Well-known names for `ls -l`-style long names and `id`. */
export const userName = (uid: number): string => USERS.get(uid) ?? String(uid)
export const groupName = (gid: number): string => GROUPS.get(gid) ?? String(gid)

const USERS = new Map<number, string>([
  [0, "root"],
  [1, "daemon"],
  [33, "www-data"],
  [65534, "nobody"],
  [100, "_apt"],
  [1000, "admin"]
])
const GROUPS = new Map<number, string>([
  [0, "root"],
  [1, "daemon"],
  [33, "www-data"],
  [104, "render"],
  [44, "video"],
  [65534, "nogroup"],
  [1000, "admin"]
])
