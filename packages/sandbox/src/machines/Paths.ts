/**
 * Path helpers over a just-bash filesystem with GNU/OpenSSH semantics: normalisation, canonical
 * resolution (`readlink -f`, SFTP `realpath`: links resolved, only the last component may be missing),
 * and file-type/mode rendering with the owner table.
 */
import type { FsStat, IFileSystem } from "just-bash"

/** Normalises `p` against `cwd` (no link resolution): collapses `.`, `..` and duplicate slashes. */
export const normalize = (p: string, cwd = "/"): string => {
  const abs = p.startsWith("/") ? p : `${cwd.replace(/\/+$/, "")}/${p}`
  const out: Array<string> = []
  for (const part of abs.split("/")) {
    if (part === "" || part === ".") continue
    if (part === "..") out.pop()
    else out.push(part)
  }
  return `/${out.join("/")}`
}

/** Parent directory of a normalised path. */
export const dirname = (p: string): string => {
  const i = p.lastIndexOf("/")
  return i <= 0 ? "/" : p.slice(0, i)
}

/** Last component of a normalised path. */
export const basename = (p: string): string => p.slice(p.lastIndexOf("/") + 1)

/** lstat that answers undefined for a missing path. */
export const lstatOrUndefined = async (fs: IFileSystem, p: string): Promise<FsStat | undefined> => {
  try {
    return await fs.lstat(p)
  } catch {
    return undefined
  }
}

/**
 * Canonical path with every symlink resolved. With `allowMissingLast`, the last component may be
 * missing (GNU `readlink -f`, OpenSSH `realpath`); any other missing component gives undefined.
 */
export const canonicalize = async (
  fs: IFileSystem,
  p: string,
  options: { readonly cwd?: string; readonly allowMissingLast: boolean }
): Promise<string | undefined> => {
  let pending = normalize(p, options.cwd ?? "/").split("/").filter((x) => x !== "")
  let resolved: Array<string> = []
  let hops = 0
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === "..") {
      resolved.pop()
      continue
    }
    if (part === ".") continue
    const candidate = `/${[...resolved, part].join("/")}`
    const st = await lstatOrUndefined(fs, candidate)
    if (!st) {
      if (options.allowMissingLast && pending.length === 0) {
        resolved.push(part)
        break
      }
      return undefined
    }
    if (st.isSymbolicLink) {
      if (++hops > 40) return undefined
      const target = await fs.readlink(candidate)
      if (target.startsWith("/")) resolved = []
      pending = [...target.split("/").filter((x) => x !== ""), ...pending]
      continue
    }
    if (!st.isDirectory && pending.length > 0) return undefined
    resolved.push(part)
  }
  return `/${resolved.join("/")}`
}

/** Type bits of a stat (S_IFREG, S_IFDIR, S_IFLNK). */
export const typeBits = (st: FsStat): number => (st.isSymbolicLink ? 0o120000 : st.isDirectory ? 0o040000 : 0o100000)

/** `ls -l` mode string (`-rw-r--r--`). */
export const modeString = (st: FsStat): string => {
  const t = st.isSymbolicLink ? "l" : st.isDirectory ? "d" : "-"
  const m = st.mode & 0o777
  const bits = "rwxrwxrwx"
  let s = t
  for (let i = 0; i < 9; i++) s += m & (1 << (8 - i)) ? bits[i] : "-"
  return s
}
