/**
 * @internal File primitives of the JSONL audit log: a cross-process lock file, reading the tail of the
 * log, one-write appends on an O_APPEND descriptor with fsync, and the atomically replaced head file.
 */
import * as Chain from "@homelab-mcp/core/audit/Chain"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { inDir, unlinkIfPresent } from "./fsFiles.js"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Options of the lock file. */
export interface LockOptions {
  /** Give up after this long (ms). */
  readonly timeoutMs: number
  /** A lock older than this whose owner is gone is broken (ms). */
  readonly staleMs: number
}

/**
 * How old an empty or unreadable lock may get before it is broken: its owner writes its pid right after the
 * exclusive create, so such a lock older than this was left by a process killed in between.
 */
export const TORN_LOCK_MS = 2000

/** Acquires `<log>.lock` (O_EXCL create, holding the owner's pid); resolves to its release function. */
export const acquireLock = async (lockPath: string, options: LockOptions): Promise<() => Promise<void>> => {
  const started = Date.now()
  let delay = 2
  for (;;) {
    try {
      // the log's directory is made when it is found missing, not checked before every append
      const fh = await inDir(lockPath, () => fs.open(lockPath, "wx", 0o600))
      try {
        await fh.writeFile(`${process.pid}\n`)
      } finally {
        await fh.close()
      }
      return () => unlinkIfPresent(lockPath)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
    // Held: break it only when stale and its owner is gone.
    try {
      const [stat, text] = await Promise.all([fs.stat(lockPath), fs.readFile(lockPath, "utf8")])
      const pid = Number.parseInt(text.trim(), 10)
      // An append holds the lock for milliseconds: a dead owner, or a lock older than `staleMs` (a reused
      // pid after a reboot), is a leftover of a crash.
      const named = Number.isInteger(pid) && pid > 0
      const ownerGone = named && pid !== process.pid ? !isAlive(pid) : false
      if (ownerGone || Date.now() - stat.mtimeMs > (named ? options.staleMs : TORN_LOCK_MS)) {
        await unlinkIfPresent(lockPath)
        continue
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue
      throw e
    }
    if (Date.now() - started > options.timeoutMs) {
      const owner = await fs.readFile(lockPath, "utf8").catch(() => "?")
      const holder = owner.trim() === "" ? "a process that has not written its pid yet" : `pid ${owner.trim()}`
      throw new Error(`the audit lock ${lockPath} is held by ${holder} for more than ${options.timeoutMs} ms`)
    }
    await sleep(delay * (0.5 + Math.random()))
    delay = Math.min(delay * 2, 20)
  }
}

/** The end of the log: the last record (if any), whether the file ends with `\n`, and torn-tail facts. */
export interface Tail {
  readonly last: Chain.ParsedRecord | undefined
  /** The end of the tail segment: its last record only, and the lines after it (`Chain.parseTail`). */
  readonly parsed: Chain.ParsedLog
  readonly size: number
}

/** Reads backwards from the end until a complete record is found or the file start is reached. */
export const readTail = async (logPath: string): Promise<Tail> => {
  let fh: fs.FileHandle
  try {
    fh = await fs.open(logPath, "r")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      return { last: undefined, parsed: Chain.parseLog(""), size: 0 }
    }
    throw e
  }
  try {
    const size = (await fh.stat()).size
    let chunk = 64 * 1024
    for (;;) {
      const start = Math.max(0, size - chunk)
      const buf = Buffer.alloc(size - start)
      await fh.read(buf, 0, buf.length, start)
      let text = buf.toString("utf8")
      if (start > 0) {
        const nl = text.indexOf("\n")
        text = nl === -1 ? "" : text.slice(nl + 1)
      }
      const parsed = Chain.parseTail(text)
      const last = parsed.records.at(-1)
      if (last !== undefined || start === 0) {
        return { last, parsed, size }
      }
      chunk *= 4
    }
  } finally {
    await fh.close()
  }
}

/** Reads the head file; `null` when absent. Unreadable or malformed heads are reported as such. */
export const readHead = async (headPath: string): Promise<Chain.Head | null | "malformed"> => {
  let text: string
  try {
    text = await fs.readFile(headPath, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null
    throw e
  }
  try {
    const v = JSON.parse(text) as { seq?: unknown; hash?: unknown }
    if (typeof v.seq === "number" && Number.isInteger(v.seq) && typeof v.hash === "string") return { seq: v.seq, hash: v.hash }
  } catch {
    // fall through
  }
  return "malformed"
}

/** Appends the whole text with one write on an O_APPEND descriptor, then fsyncs. */
export const appendDurably = async (logPath: string, text: string): Promise<void> => {
  const fh = await fs.open(logPath, "a", 0o600)
  try {
    const buf = Buffer.from(text, "utf8")
    const { bytesWritten } = await fh.write(buf, 0, buf.length)
    if (bytesWritten !== buf.length) throw new Error(`short write: ${bytesWritten} of ${buf.length} bytes`)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Replaces the head file atomically (temp file in the same directory, fsync, rename). */
export const writeHead = async (headPath: string, head: Chain.Head): Promise<void> => {
  const tmp = path.join(path.dirname(headPath), `.${path.basename(headPath)}.${process.pid}.${Date.now()}.tmp`)
  const fh = await fs.open(tmp, "w", 0o600)
  try {
    await fh.writeFile(`${JSON.stringify({ seq: head.seq, hash: head.hash })}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await fs.rename(tmp, headPath)
  } catch (e) {
    await fs.rm(tmp, { force: true })
    throw e
  }
}

