/**
 * SFTP version 3 server (draft-ietf-secsh-filexfer-02, as OpenSSH's `sftp-server` speaks it) over one
 * session channel, serving a machine's virtual filesystem as root (sandbox.md §5). We speak the wire
 * protocol ourselves because ssh2 1.17's server sends a bare VERSION; ours advertises
 * `posix-rename@openssh.com` and `fsync@openssh.com` (unless the `sftpExtensions: none` flag is set)
 * and answers them as EXTENDED requests. Status texts are OpenSSH's.
 */
import type { FsStat } from "just-bash"
import type * as ssh2 from "ssh2"
import type { Machine } from "../machines/Machine.js"
import * as Owners from "../machines/Owners.js"
import * as Paths from "../machines/Paths.js"
import type * as SshFaults from "./SshFaults.js"

const T = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201
} as const

/** SFTP status codes. */
export const Status = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  OP_UNSUPPORTED: 8
} as const

const STATUS_TEXT: Record<number, string> = {
  0: "Success",
  1: "End of file",
  2: "No such file",
  3: "Permission denied",
  4: "Failure",
  5: "Bad message",
  8: "Operation unsupported"
}

const ATTR = { SIZE: 0x1, UIDGID: 0x2, PERMISSIONS: 0x4, ACMODTIME: 0x8, EXTENDED: 0x80000000 } as const
const FLAG = { READ: 0x1, WRITE: 0x2, APPEND: 0x4, CREAT: 0x8, TRUNC: 0x10, EXCL: 0x20 } as const

interface Attrs {
  size?: number
  uid?: number
  gid?: number
  permissions?: number
  atime?: number
  mtime?: number
}

type Handle =
  | { kind: "file"; path: string; data: Buffer; size: number; dirty: boolean; writable: boolean; append: boolean; transferred: number; decision?: SshFaults.SftpDecision }
  | { kind: "dir"; path: string; done: boolean }

class Reader {
  pos = 0
  constructor(readonly buf: Buffer) {}
  u8() {
    if (this.pos + 1 > this.buf.length) throw new RangeError("short")
    return this.buf[this.pos++]!
  }
  u32() {
    if (this.pos + 4 > this.buf.length) throw new RangeError("short")
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }
  u64() {
    if (this.pos + 8 > this.buf.length) throw new RangeError("short")
    const v = this.buf.readBigUInt64BE(this.pos)
    this.pos += 8
    return Number(v)
  }
  bytes() {
    const n = this.u32()
    if (this.pos + n > this.buf.length) throw new RangeError("short")
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }
  str() {
    return this.bytes().toString("utf8")
  }
  attrs(): Attrs {
    const flags = this.u32()
    const a: Attrs = {}
    if (flags & ATTR.SIZE) a.size = this.u64()
    if (flags & ATTR.UIDGID) {
      a.uid = this.u32()
      a.gid = this.u32()
    }
    if (flags & ATTR.PERMISSIONS) a.permissions = this.u32()
    if (flags & ATTR.ACMODTIME) {
      a.atime = this.u32()
      a.mtime = this.u32()
    }
    if (flags & ATTR.EXTENDED) {
      const n = this.u32()
      for (let i = 0; i < n; i++) {
        this.str()
        this.str()
      }
    }
    return a
  }
}

class Writer {
  parts: Array<Buffer> = []
  u8(v: number) {
    this.parts.push(Buffer.from([v]))
    return this
  }
  u32(v: number) {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(v >>> 0)
    this.parts.push(b)
    return this
  }
  u64(v: number) {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(BigInt(v))
    this.parts.push(b)
    return this
  }
  bytes(v: Buffer | string) {
    const b = typeof v === "string" ? Buffer.from(v, "utf8") : v
    this.u32(b.length)
    this.parts.push(b)
    return this
  }
  attrs(a: Attrs) {
    let flags = 0
    if (a.size !== undefined) flags |= ATTR.SIZE
    if (a.uid !== undefined && a.gid !== undefined) flags |= ATTR.UIDGID
    if (a.permissions !== undefined) flags |= ATTR.PERMISSIONS
    if (a.atime !== undefined && a.mtime !== undefined) flags |= ATTR.ACMODTIME
    this.u32(flags)
    if (a.size !== undefined) this.u64(a.size)
    if (a.uid !== undefined && a.gid !== undefined) this.u32(a.uid).u32(a.gid)
    if (a.permissions !== undefined) this.u32(a.permissions)
    if (a.atime !== undefined && a.mtime !== undefined) this.u32(a.atime).u32(a.mtime)
    return this
  }
  packet() {
    const body = Buffer.concat(this.parts)
    const len = Buffer.alloc(4)
    len.writeUInt32BE(body.length)
    return Buffer.concat([len, body])
  }
}

/** Options of one SFTP session. */
export interface ServeOptions {
  /** Advertise posix-rename@openssh.com and fsync@openssh.com. */
  readonly extensions: boolean
  readonly faults: SshFaults.SshFaults
  /** Tears the whole connection down (fault `drop`). */
  readonly drop: () => void
  readonly onEvent?: (detail: string, decision: string) => void
}

const MAX_PACKET = 256 * 1024 + 1024

/** Serves SFTP v3 on `channel` over `machine`'s filesystem until the channel closes. */
export const serve = (channel: ssh2.ServerChannel, machine: Machine, options: ServeOptions): void => {
  const fs = machine.vfs
  const handles = new Map<string, Handle>()
  let nextHandle = 0
  let pending = Buffer.alloc(0)
  let chain: Promise<void> = Promise.resolve()
  let dead = false

  const send = (w: Writer) => {
    if (!dead) channel.write(w.packet())
  }
  const status = (id: number, code: number, text?: string) =>
    send(new Writer().u8(T.STATUS).u32(id).u32(code).bytes(text ?? STATUS_TEXT[code] ?? "Failure").bytes(""))

  const attrsOf = (p: string, st: FsStat): Attrs => {
    const owner = machine.owners.get(p)
    const secs = Math.floor(st.mtime.getTime() / 1000)
    return {
      size: st.isDirectory ? 4096 : st.size,
      uid: owner.uid,
      gid: owner.gid,
      permissions: Paths.typeBits(st) | (st.mode & 0o7777),
      atime: secs,
      mtime: secs
    }
  }

  const longname = (name: string, p: string, st: FsStat): string => {
    const owner = machine.owners.get(p)
    const d = st.mtime
    const mon = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" })
    const day = String(d.getUTCDate()).padStart(2, " ")
    const now = machine.time.now()
    const recent = Math.abs(now - d.getTime()) < 182 * 86400_000
    const when = recent
      ? `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`
      : ` ${d.getUTCFullYear()}`
    const size = st.isDirectory ? 4096 : st.size
    return `${Paths.modeString(st)} ${String(st.isDirectory ? 2 : 1).padStart(3)} ${Owners.userName(owner.uid).padEnd(8)} ${Owners.groupName(owner.gid).padEnd(8)} ${String(size).padStart(8)} ${mon} ${day} ${when} ${name}`
  }

  const abs = (p: string) => Paths.normalize(p === "" ? "." : p, "/root")

  const lstat = (p: string) => Paths.lstatOrUndefined(fs, p)
  const stat = async (p: string): Promise<FsStat | undefined> => {
    try {
      return await fs.stat(p)
    } catch {
      return undefined
    }
  }

  const flush = async (h: Handle) => {
    if (h.kind === "file" && h.dirty) {
      await fs.writeFile(h.path, h.data.subarray(0, h.size))
      h.dirty = false
    }
  }

  const applyAttrs = async (p: string, a: Attrs) => {
    if (a.permissions !== undefined) await fs.chmod(p, a.permissions & 0o7777)
    if (a.uid !== undefined && a.gid !== undefined) machine.owners.set(p, { uid: a.uid, gid: a.gid })
    if (a.size !== undefined) {
      const cur = Buffer.from(await fs.readFileBuffer(p))
      const next = Buffer.alloc(a.size)
      cur.copy(next, 0, 0, Math.min(cur.length, a.size))
      await fs.writeFile(p, next)
    }
    if (a.mtime !== undefined) await fs.utimes(p, new Date((a.atime ?? a.mtime) * 1000), new Date(a.mtime * 1000))
  }

  const hang = (): Promise<void> =>
    new Promise((resolve) => {
      channel.once("close", () => resolve())
    })

  const handle = async (type: number, r: Reader) => {
    if (type === T.INIT) {
      r.u32()
      const w = new Writer().u8(T.VERSION).u32(3)
      if (options.extensions) {
        w.bytes("posix-rename@openssh.com").bytes("1")
        w.bytes("fsync@openssh.com").bytes("1")
      }
      send(w)
      return
    }
    const id = r.u32()
    switch (type) {
      case T.OPEN: {
        const p = abs(r.str())
        const flags = r.u32()
        const a = r.attrs()
        const existing = await stat(p)
        if (existing?.isDirectory) return status(id, Status.FAILURE)
        if (!existing) {
          if (!(flags & FLAG.CREAT)) return status(id, Status.NO_SUCH_FILE)
          const parent = await stat(Paths.dirname(p))
          if (!parent?.isDirectory) return status(id, Status.NO_SUCH_FILE)
          await fs.writeFile(p, new Uint8Array())
          await fs.chmod(p, (a.permissions ?? 0o666) & 0o777 & ~0o022)
          machine.owners.remove(p)
        } else if (flags & FLAG.EXCL && flags & FLAG.CREAT) {
          return status(id, Status.FAILURE)
        }
        const writable = (flags & FLAG.WRITE) !== 0
        let data = Buffer.from(await fs.readFileBuffer(p))
        if (writable && flags & FLAG.TRUNC) {
          data = Buffer.alloc(0)
          await fs.writeFile(p, new Uint8Array())
        }
        const key = String(nextHandle++)
        handles.set(key, {
          kind: "file",
          path: p,
          data,
          size: data.length,
          dirty: false,
          writable,
          append: (flags & FLAG.APPEND) !== 0,
          transferred: 0
        })
        return send(new Writer().u8(T.HANDLE).u32(id).bytes(key))
      }
      case T.CLOSE: {
        const key = r.str()
        const h = handles.get(key)
        if (!h) return status(id, Status.FAILURE)
        handles.delete(key)
        await flush(h)
        return status(id, Status.OK)
      }
      case T.READ: {
        const h = handles.get(r.str())
        const offset = r.u64()
        const len = r.u32()
        if (!h || h.kind !== "file") return status(id, Status.FAILURE)
        const decision = (h.decision ??= options.faults.sftp("read", h.path))
        if (decision.latencyMs) await machine.time.sleep(decision.latencyMs).catch(() => undefined)
        if (decision.hang) return hang()
        if (offset >= h.size) return status(id, Status.EOF)
        let chunk = h.data.subarray(offset, Math.min(h.size, offset + Math.min(len, 256 * 1024)))
        if (decision.dropAfterBytes !== undefined && h.transferred + chunk.length > decision.dropAfterBytes) {
          options.onEvent?.(`read ${h.path}`, "drop")
          chunk = chunk.subarray(0, Math.max(0, decision.dropAfterBytes - h.transferred))
          if (chunk.length > 0) send(new Writer().u8(T.DATA).u32(id).bytes(Buffer.from(chunk)))
          dead = true
          return options.drop()
        }
        h.transferred += chunk.length
        return send(new Writer().u8(T.DATA).u32(id).bytes(Buffer.from(chunk)))
      }
      case T.WRITE: {
        const h = handles.get(r.str())
        const offset = r.u64()
        const data = r.bytes()
        if (!h || h.kind !== "file" || !h.writable) return status(id, Status.FAILURE)
        const decision = (h.decision ??= options.faults.sftp("write", h.path))
        if (decision.latencyMs) await machine.time.sleep(decision.latencyMs).catch(() => undefined)
        if (decision.hang) return hang()
        if (decision.dropAfterBytes !== undefined && h.transferred + data.length > decision.dropAfterBytes) {
          options.onEvent?.(`write ${h.path}`, "drop")
          dead = true
          return options.drop()
        }
        h.transferred += data.length
        const at = h.append ? h.size : offset
        const end = at + data.length
        if (end > h.data.length) {
          const grown = Buffer.alloc(Math.max(end, h.data.length * 2))
          h.data.copy(grown, 0, 0, h.size)
          h.data = grown
        }
        data.copy(h.data, at)
        h.size = Math.max(h.size, end)
        h.dirty = true
        return status(id, Status.OK)
      }
      case T.LSTAT:
      case T.STAT: {
        const p = abs(r.str())
        const st = type === T.STAT ? await stat(p) : await lstat(p)
        if (!st) return status(id, Status.NO_SUCH_FILE)
        return send(new Writer().u8(T.ATTRS).u32(id).attrs(attrsOf(p, st)))
      }
      case T.FSTAT: {
        const h = handles.get(r.str())
        if (!h) return status(id, Status.FAILURE)
        await flush(h)
        const st = await stat(h.path)
        if (!st) return status(id, Status.NO_SUCH_FILE)
        return send(new Writer().u8(T.ATTRS).u32(id).attrs(attrsOf(h.path, st)))
      }
      case T.SETSTAT: {
        const p = abs(r.str())
        const a = r.attrs()
        if (!(await lstat(p))) return status(id, Status.NO_SUCH_FILE)
        await applyAttrs(p, a)
        return status(id, Status.OK)
      }
      case T.FSETSTAT: {
        const h = handles.get(r.str())
        const a = r.attrs()
        if (!h) return status(id, Status.FAILURE)
        await flush(h)
        await applyAttrs(h.path, a)
        if (h.kind === "file" && a.size !== undefined) {
          h.data = Buffer.from(await fs.readFileBuffer(h.path))
          h.size = h.data.length
        }
        return status(id, Status.OK)
      }
      case T.OPENDIR: {
        const p = abs(r.str())
        const st = await stat(p)
        if (!st) return status(id, Status.NO_SUCH_FILE)
        if (!st.isDirectory) return status(id, Status.FAILURE)
        const key = String(nextHandle++)
        handles.set(key, { kind: "dir", path: p, done: false })
        return send(new Writer().u8(T.HANDLE).u32(id).bytes(key))
      }
      case T.READDIR: {
        const h = handles.get(r.str())
        if (!h || h.kind !== "dir") return status(id, Status.FAILURE)
        if (h.done) return status(id, Status.EOF)
        h.done = true
        const names = [".", "..", ...(await fs.readdir(h.path))]
        const w = new Writer().u8(T.NAME).u32(id)
        const entries: Array<[string, string, FsStat]> = []
        for (const name of names) {
          const p = name === "." ? h.path : name === ".." ? Paths.dirname(h.path) : `${h.path === "/" ? "" : h.path}/${name}`
          const st = await lstat(p)
          if (st) entries.push([name, p, st])
        }
        w.u32(entries.length)
        for (const [name, p, st] of entries) w.bytes(name).bytes(longname(name, p, st)).attrs(attrsOf(p, st))
        return send(w)
      }
      case T.REMOVE: {
        const p = abs(r.str())
        const st = await lstat(p)
        if (!st) return status(id, Status.NO_SUCH_FILE)
        if (st.isDirectory) return status(id, Status.FAILURE)
        await fs.rm(p)
        machine.owners.remove(p)
        return status(id, Status.OK)
      }
      case T.MKDIR: {
        const p = abs(r.str())
        const a = r.attrs()
        if (await lstat(p)) return status(id, Status.FAILURE)
        if (!(await stat(Paths.dirname(p)))?.isDirectory) return status(id, Status.NO_SUCH_FILE)
        await fs.mkdir(p)
        await fs.chmod(p, (a.permissions ?? 0o777) & 0o777 & ~0o022)
        return status(id, Status.OK)
      }
      case T.RMDIR: {
        const p = abs(r.str())
        const st = await lstat(p)
        if (!st) return status(id, Status.NO_SUCH_FILE)
        if (!st.isDirectory || (await fs.readdir(p)).length > 0) return status(id, Status.FAILURE)
        await fs.rm(p)
        return status(id, Status.OK)
      }
      case T.REALPATH: {
        const p = r.str()
        const real = await Paths.canonicalize(fs, p === "" ? "." : p, { cwd: "/root", allowMissingLast: true })
        if (real === undefined) return status(id, Status.NO_SUCH_FILE)
        const st = await lstat(real)
        const w = new Writer().u8(T.NAME).u32(id).u32(1).bytes(real)
        w.bytes(st ? longname(real, real, st) : real).attrs(st ? attrsOf(real, st) : {})
        return send(w)
      }
      case T.RENAME: {
        const from = abs(r.str())
        const to = abs(r.str())
        if (!(await lstat(from))) return status(id, Status.NO_SUCH_FILE)
        if (await lstat(to)) return status(id, Status.FAILURE)
        return rename(id, from, to)
      }
      case T.READLINK: {
        const p = abs(r.str())
        const st = await lstat(p)
        if (!st) return status(id, Status.NO_SUCH_FILE)
        if (!st.isSymbolicLink) return status(id, Status.FAILURE)
        const target = await fs.readlink(p)
        return send(new Writer().u8(T.NAME).u32(id).u32(1).bytes(target).bytes(target).attrs({}))
      }
      case T.SYMLINK: {
        // OpenSSH reads (targetpath, linkpath) in this order (the reverse of the draft).
        const target = r.str()
        const link = abs(r.str())
        if (await lstat(link)) return status(id, Status.FAILURE)
        if (!(await stat(Paths.dirname(link)))?.isDirectory) return status(id, Status.NO_SUCH_FILE)
        await fs.symlink(target, link)
        return status(id, Status.OK)
      }
      case T.EXTENDED: {
        const name = r.str()
        if (options.extensions && name === "posix-rename@openssh.com") {
          const from = abs(r.str())
          const to = abs(r.str())
          if (!(await lstat(from))) return status(id, Status.NO_SUCH_FILE)
          const target = await lstat(to)
          if (target?.isDirectory) return status(id, Status.FAILURE)
          return rename(id, from, to)
        }
        if (options.extensions && name === "fsync@openssh.com") {
          const h = handles.get(r.str())
          if (!h) return status(id, Status.FAILURE)
          await flush(h)
          return status(id, Status.OK)
        }
        return status(id, Status.OP_UNSUPPORTED)
      }
      default:
        return status(id, Status.OP_UNSUPPORTED)
    }
  }

  const rename = async (id: number, from: string, to: string) => {
    if (!(await stat(Paths.dirname(to)))?.isDirectory) return status(id, Status.NO_SUCH_FILE)
    for (const h of handles.values()) if (h.kind === "file" && h.path === from) await flush(h)
    await fs.mv(from, to)
    machine.owners.move(from, to)
    return status(id, Status.OK)
  }

  channel.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const len = pending.readUInt32BE(0)
      if (len > MAX_PACKET) {
        dead = true
        channel.close()
        return
      }
      if (pending.length < 4 + len) break
      const packet = pending.subarray(4, 4 + len)
      pending = pending.subarray(4 + len)
      const r = new Reader(Buffer.from(packet))
      chain = chain.then(async () => {
        if (dead) return
        let type = -1
        try {
          type = r.u8()
          await handle(type, r)
        } catch {
          const id = type > 1 && packet.length >= 5 ? packet.readUInt32BE(1) : 0
          status(id, Status.FAILURE)
        }
      })
    }
  })
  channel.on("close", () => {
    dead = true
  })
  channel.on("error", () => undefined)
}
