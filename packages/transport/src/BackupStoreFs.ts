/**
 * The file-backed backup store (backups-audit.md §1): content-addressed gzip blobs, one JSON record per
 * version, atomic writes (temp in `tmp/`, fsync, rename, directory fsync), blob before record, an
 * in-process mutex plus the cross-process `.lock` file, eviction and disk pressure from the pure planner,
 * and startup cleanup. `layerTest` runs the same logic over an in-memory file map.
 *
 * Layout: `store.json`, `blobs/<2 hex>/<sha256>.gz`, `targets/<targetKey>/target.json`,
 * `targets/<targetKey>/<versionId>.json`, `tmp/`, `.lock`.
 */
import { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import type {
  CapacityCheck,
  RestoreResult,
  StoreRequest,
  StoreResult,
  Usage,
  VersionView
} from "@homelab-mcp/core/capabilities/BackupStore"
import * as Eviction from "@homelab-mcp/core/backup/Eviction"
import { gunzip, sha256 } from "@homelab-mcp/core/backup/Hash"
import * as Policy from "@homelab-mcp/core/backup/Policy"
import * as Reconstruct from "@homelab-mcp/core/backup/Reconstruct"
import * as Record from "@homelab-mcp/core/backup/Record"
import * as Target from "@homelab-mcp/core/backup/Target"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import * as DataDir from "@homelab-mcp/core/DataDir"
import { BackupStoreFull, Internal, NoBackups, NotRevertible, VersionNotFound } from "@homelab-mcp/core/Errors"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { inDir, unlinkIfPresent } from "./internal/fsFiles.js"

// ---------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------

/** Store options: the settings plus the directory and lock/cleanup timings. */
export interface Options extends Partial<Policy.BackupSettings> {
  /** `MCP_BACKUP_DIR`. */
  readonly dir: string
  /** A `.lock` older than this is stale (default 30000 ms). */
  readonly lockStaleMs?: number
  /** How long a store change waits for another process's lock (default 10000 ms). */
  readonly lockTimeoutMs?: number
  /** Staging files in `tmp/` older than this are removed at startup (default one hour). */
  readonly stagingMaxAgeMs?: number
}

/** The store format marker written to `store.json`. */
export const STORE_FORMAT = { format: "homelab-mcp-backups", version: 1 } as const

const settingsOf = (options: Partial<Policy.BackupSettings>): Policy.BackupSettings => {
  const s = { ...Policy.defaultSettings, ...stripUndefined(options) }
  if (!Number.isInteger(s.perFileCap) || s.perFileCap < 1) throw new TypeError(`MCP_BACKUP_PER_FILE_CAP must be an integer >= 1, got ${s.perFileCap}`)
  if (!(s.globalCapBytes > 0)) throw new TypeError(`MCP_BACKUP_GLOBAL_CAP_BYTES must be > 0, got ${s.globalCapBytes}`)
  if (!(s.largeFileBytes > 0)) throw new TypeError(`MCP_LARGE_FILE_BYTES must be > 0, got ${s.largeFileBytes}`)
  return s
}

const stripUndefined = <A extends object>(a: A): Partial<A> =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Partial<A>

// ---------------------------------------------------------------------------------------------------
// Storage: the few file operations the store needs, on disk or in memory
// ---------------------------------------------------------------------------------------------------

/** @internal Relative paths use `/`; every write is atomic. */
export interface Storage {
  readonly describe: string
  readonly read: (rel: string) => Promise<Uint8Array | null>
  /** temp in `tmp/`, fsync, rename into place, fsync the directory (`durable:false` skips both fsyncs). */
  readonly writeAtomic: (rel: string, bytes: Uint8Array, options?: { readonly durable?: boolean }) => Promise<void>
  /**
   * Exclusive create, not fsynced (it makes the lock file, which needs no durability: a lock left by a crash is
   * judged by its owner's pid or, when torn, by its age); false when the file exists.
   */
  readonly createExclusive: (rel: string, bytes: Uint8Array) => Promise<boolean>
  readonly remove: (rel: string) => Promise<void>
  /** Entry names of a directory; [] when it does not exist. */
  readonly list: (rel: string) => Promise<Array<string>>
  readonly stat: (rel: string) => Promise<{ readonly size: number; readonly mtimeMs: number } | null>
  /** Removes a directory if it is empty (best effort). */
  readonly removeDir: (rel: string) => Promise<void>
}

const isCode = (e: unknown, ...codes: Array<string>) =>
  typeof e === "object" && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? "")

const fsyncDir = async (dir: string) => {
  let fh: fs.FileHandle | undefined
  try {
    fh = await fs.open(dir, "r")
    await fh.sync()
  } catch {
    // Directory fsync is not supported everywhere (Windows); the rename is still atomic.
  } finally {
    await fh?.close().catch(() => undefined)
  }
}

/** @internal The on-disk storage under `root`. */
export const fsStorage = (root: string): Storage => {
  const abs = (rel: string) => path.join(root, ...rel.split("/"))
  const writeDurable = async (file: string, bytes: Uint8Array, flag: "wx", durable = true) => {
    const fh = await fs.open(file, flag, 0o600)
    try {
      await fh.writeFile(bytes)
      if (durable) await fh.sync()
    } finally {
      await fh.close()
    }
  }
  return {
    describe: root,
    read: async (rel) => {
      try {
        return new Uint8Array(await fs.readFile(abs(rel)))
      } catch (e) {
        if (isCode(e, "ENOENT")) return null
        throw e
      }
    },
    // Directories are made when an operation finds one missing (ENOENT), not checked before every write:
    // once the store exists, a write is open, write, fsync, close, rename, directory fsync.
    writeAtomic: async (rel, bytes, options) => {
      const durable = options?.durable ?? true
      const dest = abs(rel)
      const tmp = path.join(root, "tmp", `${path.basename(dest)}.${process.pid}.${Crypto.randomBytes(6).toString("hex")}.tmp`)
      try {
        await inDir(tmp, () => writeDurable(tmp, bytes, "wx", durable))
        await inDir(dest, () => fs.rename(tmp, dest))
      } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => undefined)
        throw e
      }
      if (durable) await fsyncDir(path.dirname(dest))
    },
    createExclusive: async (rel, bytes) => {
      const file = abs(rel)
      try {
        await inDir(file, () => writeDurable(file, bytes, "wx", false))
        return true
      } catch (e) {
        if (isCode(e, "EEXIST")) return false
        throw e
      }
    },
    remove: (rel) => unlinkIfPresent(abs(rel)),
    list: async (rel) => {
      try {
        return await fs.readdir(abs(rel))
      } catch (e) {
        if (isCode(e, "ENOENT", "ENOTDIR")) return []
        throw e
      }
    },
    stat: async (rel) => {
      try {
        const s = await fs.stat(abs(rel))
        return { size: s.size, mtimeMs: s.mtimeMs }
      } catch (e) {
        if (isCode(e, "ENOENT")) return null
        throw e
      }
    },
    removeDir: async (rel) => {
      await fs.rmdir(abs(rel)).catch(() => undefined)
    }
  }
}

/** @internal An in-memory storage with the same semantics (directories are implicit). */
export const memoryStorage = (): Storage & { readonly files: Map<string, { bytes: Uint8Array; mtimeMs: number }> } => {
  const files = new Map<string, { bytes: Uint8Array; mtimeMs: number }>()
  const children = (rel: string) => {
    const prefix = rel === "" ? "" : `${rel}/`
    const names = new Set<string>()
    for (const key of files.keys()) if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split("/")[0]!)
    return [...names]
  }
  return {
    describe: "memory",
    files,
    read: async (rel) => files.get(rel)?.bytes ?? null,
    writeAtomic: async (rel, bytes) => {
      files.set(rel, { bytes: new Uint8Array(bytes), mtimeMs: Date.now() })
    },
    createExclusive: async (rel, bytes) => {
      if (files.has(rel)) return false
      files.set(rel, { bytes: new Uint8Array(bytes), mtimeMs: Date.now() })
      return true
    },
    remove: async (rel) => {
      files.delete(rel)
    },
    list: async (rel) => children(rel),
    stat: async (rel) => {
      const f = files.get(rel)
      return f === undefined ? null : { size: f.bytes.length, mtimeMs: f.mtimeMs }
    },
    removeDir: async () => undefined
  }
}

// ---------------------------------------------------------------------------------------------------
// Paths, ids, lock
// ---------------------------------------------------------------------------------------------------

const BLOB_NAME = /^[0-9a-f]{64}\.gz$/
/** A change token (not part of the §1.1 layout proper): lets each process keep its state cache honest. */
const GENERATION = "generation"
const RECORD_NAME = /^[0-9A-HJKMNP-TV-Z]{26}\.json$/

const blobPath = (sha: string) => `blobs/${sha.slice(0, 2)}/${sha}.gz`
const targetDir = (descriptor: string) => `targets/${Target.targetKey(descriptor)}`
const recordPath = (descriptor: string, versionId: string) => `${targetDir(descriptor)}/${versionId}.json`

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/** A ULID: 48-bit millisecond time and 80 random bits in Crockford base32 (26 characters). */
export const ulid = (nowMs: number): string => {
  let time = ""
  let t = Math.max(0, Math.floor(nowMs))
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time
    t = Math.floor(t / 32)
  }
  const random = Crypto.randomBytes(16)
  let rand = ""
  for (let i = 0; i < 16; i++) rand += CROCKFORD[random[i]! % 32]!
  return time + rand
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return isCode(e, "EPERM")
  }
}

interface LockBody {
  readonly pid: number
  readonly host: string
  readonly time: number
  readonly token: string
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))

/** Takes `.lock` (exclusive create holding pid, host and time); breaks it when stale. Returns its release. */
const acquireFileLock = async (
  storage: Storage,
  options: { readonly staleMs: number; readonly timeoutMs: number }
): Promise<() => Promise<void>> => {
  const started = Date.now()
  const hostname = os.hostname()
  let delay = 2
  for (;;) {
    const body: LockBody = { pid: process.pid, host: hostname, time: Date.now(), token: Crypto.randomBytes(8).toString("hex") }
    if (await storage.createExclusive(".lock", utf8(JSON.stringify(body)))) {
      return async () => {
        const current = await storage.read(".lock")
        if (current !== null && text(current).includes(body.token)) await storage.remove(".lock")
      }
    }
    const held = await storage.read(".lock")
    if (held === null) continue
    let owner: Partial<LockBody> = {}
    try {
      owner = JSON.parse(text(held)) as Partial<LockBody>
    } catch {
      // A torn lock file: judge it by its age alone.
    }
    const stat = await storage.stat(".lock")
    const since = typeof owner.time === "number" ? owner.time : (stat?.mtimeMs ?? 0)
    // An owner writes its details right after the exclusive create, so an unreadable lock more than two
    // seconds old was left by a process that died in between.
    const torn = typeof owner.time !== "number" && Date.now() - since > 2000
    const stale = torn || Date.now() - since > options.staleMs ||
      (owner.host === hostname && typeof owner.pid === "number" && owner.pid !== process.pid && !isAlive(owner.pid))
    if (stale) {
      await storage.remove(".lock")
      continue
    }
    if (Date.now() - started > options.timeoutMs) {
      throw new Error(`the backup store lock is held by pid ${owner.pid ?? "?"} on ${owner.host ?? "?"} for more than ${options.timeoutMs} ms`)
    }
    await sleep(delay)
    delay = Math.min(delay * 2, 50)
  }
}

// ---------------------------------------------------------------------------------------------------
// Store state
// ---------------------------------------------------------------------------------------------------

interface State {
  records: Array<Record.VersionRecord>
  readonly recordSizes: Map<string, number>
  readonly blobSizes: Map<string, number>
  /** Record files that could not be decoded (kept, reported). */
  readonly unreadable: Array<string>
  /** Target directories (keys) that hold no record. */
  readonly emptyTargets: Array<string>
}

const readTargetRecords = async (storage: Storage, key: string) => {
  const records: Array<Record.VersionRecord> = []
  const sizes = new Map<string, number>()
  const unreadable: Array<string> = []
  // the reads run together; the results are taken in the listing's order
  const names = (await storage.list(`targets/${key}`)).filter((name) => RECORD_NAME.test(name))
  const contents = await Promise.all(names.map((name) => storage.read(`targets/${key}/${name}`)))
  for (const [i, name] of names.entries()) {
    const bytes = contents[i]!
    if (bytes === null) continue
    try {
      const record = Record.decodeJson(text(bytes))
      records.push(record)
      sizes.set(record.versionId, bytes.length)
    } catch {
      unreadable.push(`targets/${key}/${name}`)
    }
  }
  return { records, sizes, unreadable }
}

const loadState = async (storage: Storage): Promise<State> => {
  const records: Array<Record.VersionRecord> = []
  const recordSizes = new Map<string, number>()
  const unreadable: Array<string> = []
  const emptyTargets: Array<string> = []
  for (const key of await storage.list("targets")) {
    const t = await readTargetRecords(storage, key)
    records.push(...t.records)
    for (const [k, v] of t.sizes) recordSizes.set(k, v)
    unreadable.push(...t.unreadable)
    if (t.records.length === 0 && t.unreadable.length === 0) emptyTargets.push(key)
  }
  const blobSizes = new Map<string, number>()
  for (const prefix of await storage.list("blobs")) {
    for (const name of await storage.list(`blobs/${prefix}`)) {
      if (!BLOB_NAME.test(name)) continue
      const s = await storage.stat(`blobs/${prefix}/${name}`)
      if (s !== null) blobSizes.set(name.slice(0, 64), s.size)
    }
  }
  return { records, recordSizes, blobSizes, unreadable, emptyTargets }
}

const storedVersions = (state: State): Array<Eviction.StoredVersion> =>
  state.records.map((r) => ({
    versionId: r.versionId,
    descriptor: r.descriptor,
    createdAt: r.createdAt,
    seq: r.seq,
    blob: r.blob,
    recordBytes: state.recordSizes.get(r.versionId) ?? Record.recordBytes(r)
  }))

const previousBytes = (request: StoreRequest) => (request.previous.exists ? request.previous.bytes : null)

const optionalInt = (v: number | null | undefined) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null)

interface Prepared {
  readonly record: Record.VersionRecord
  readonly decision: Policy.BackupDecision
  readonly plan: Eviction.Plan
  readonly warnings: Array<string>
  readonly full: boolean
}

// ---------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------

/** @internal A local file operation failed; mapped to `Internal` (store) or a defect (reads) at the boundary. */
class StoreIoError extends Data.TaggedError("StoreIoError")<{ readonly message: string }> {}

const ioError = (e: unknown) => new StoreIoError({ message: e instanceof Error ? e.message : String(e) })

/** Builds the store over a storage; runs the startup cleanup first. */
export const makeWith = (
  storage: Storage,
  options: Omit<Options, "dir">
): Effect.Effect<BackupStore.Service> =>
  Effect.gen(function* () {
    const settings = settingsOf(options)
    const lockOptions = { staleMs: options.lockStaleMs ?? 30_000, timeoutMs: options.lockTimeoutMs ?? 10_000 }
    const stagingMaxAgeMs = options.stagingMaxAgeMs ?? 3_600_000
    const mutex = yield* Effect.makeSemaphore(1)
    const targetLocks = new Map<string, Effect.Semaphore>()
    // locked sections ended so far, and the count at which each target's last one ended
    let sectionsEnded = 0
    const lastEnded = new Map<string, number>()

    /** Runs `f` under the in-process mutex and the `.lock` file. */
    const locked = <A>(f: () => Promise<A>): Effect.Effect<A, StoreIoError> =>
      mutex.withPermits(1)(
        Effect.tryPromise({
          try: async () => {
            const release = await acquireFileLock(storage, lockOptions)
            try {
              return await f()
            } finally {
              await release()
            }
          },
          catch: ioError
        })
      )
    const unlocked = <A>(f: () => Promise<A>): Effect.Effect<A, StoreIoError> => Effect.tryPromise({ try: f, catch: ioError })
    const internal = (opId: string, what: string) => (e: StoreIoError) =>
      new Internal({ opId, detail: `backup store (${storage.describe}): ${what}: ${e.message}` })
    const die = (what: string) => (e: StoreIoError) =>
      Effect.die(new Error(`backup store (${storage.describe}): ${what}: ${e.message}`))

    // Under the lock, the store state comes from a cache that stays valid while `generation` holds the
    // token this instance wrote last. Every change first replaces the token, so another process (or a
    // crash half-way through a change) always forces a full reload.
    let cache: { token: string; state: State } | null = null
    const current = async (): Promise<State> => {
      const bytes = await storage.read(GENERATION)
      const token = bytes === null ? "" : text(bytes)
      if (cache !== null && token !== "" && cache.token === token) return cache.state
      const state = await loadState(storage)
      cache = { token, state }
      return state
    }
    /**
     * The cached state while `generation` still holds its token (one small read instead of the records), else
     * null. Read without the lock, so `use` runs at once on the state as of that read: a change of this
     * process clears the cache first, one of another process replaces the token first.
     */
    const whenCached = async <A>(use: (state: State) => A): Promise<A | null> => {
      const seen = cache
      if (seen === null) return null
      const bytes = await storage.read(GENERATION)
      const token = bytes === null ? "" : text(bytes)
      return token !== "" && token === seen.token && cache === seen ? use(seen.state) : null
    }
    const mutate = async <A>(state: State, change: () => Promise<A>, apply: (state: State, result: A) => void): Promise<A> => {
      const token = Crypto.randomBytes(12).toString("hex")
      cache = null
      await storage.writeAtomic(GENERATION, utf8(token), { durable: false })
      const result = await change()
      apply(state, result)
      cache = { token, state }
      return result
    }

    const targetRecords = async (descriptor: string) => {
      const { records } = await readTargetRecords(storage, Target.targetKey(descriptor))
      return records.filter((r) => r.descriptor === descriptor).sort(Record.newestFirst)
    }
    const ownNewest = (state: State, descriptor: string) =>
      state.records.reduce<Record.VersionRecord | undefined>(
        (best, r) => (r.descriptor === descriptor && (best === undefined || Record.newestFirst(r, best) < 0) ? r : best),
        undefined
      )

    // checkCapacity and store see the same request object: decide (hash, gzip, delta) once for both.
    const decided = new WeakMap<StoreRequest, { readonly reanchor: boolean; readonly decision: Policy.BackupDecision }>()

    /** The decision, record and plan for one request against the current state (no writes). */
    const prepare = (state: State, request: StoreRequest, nowMs: number): Prepared => {
      const descriptor = request.target.descriptor
      const previous = previousBytes(request)
      const prevSha = previous === null ? null : sha256(previous)
      const own = state.records.filter((r) => r.descriptor === descriptor).sort(Record.newestFirst)
      const newest = own[0]
      const reanchor = newest !== undefined && newest.afterSha256 !== prevSha
      const memo = decided.get(request)
      // selectBackupKind's `reanchored` always equals its `reanchor` input, so a decision made for the same
      // bytes with the same verdict is exactly what deciding again would give.
      const given = request.decision !== undefined && request.decision !== null && request.decision.reanchored === reanchor
        ? request.decision
        : undefined
      const decision = given ??
        (memo !== undefined && memo.reanchor === reanchor
          ? memo.decision
          : Policy.selectBackupKind({ previous, next: request.next, reanchor, settings }))
      decided.set(request, { reanchor, decision })
      const payload = decision.kind === "full" || decision.kind === "rdiff" ? decision.payload : null
      const existingSize = payload === null ? undefined : state.blobSizes.get(payload.sha256)
      const maxCreated = state.records.reduce((m, r) => (r.createdAt > m ? r.createdAt : m), "")
      const nowIso = new Date(nowMs).toISOString()
      const prevMeta = request.previous.exists ? request.previous : undefined
      const record: Record.VersionRecord = {
        versionId: ulid(nowMs),
        descriptor,
        // Ordering comes from the record: never go backwards when the clock does.
        createdAt: nowIso < maxCreated ? maxCreated : nowIso,
        seq: state.records.reduce((m, r) => Math.max(m, r.seq), 0) + 1,
        tool: request.tool,
        opId: request.opId,
        kind: decision.kind,
        blob: payload?.sha256 ?? null,
        base: decision.kind === "rdiff" ? decision.base : null,
        beforeSha256: prevSha,
        beforeBytes: previous?.length ?? 0,
        beforeMode: optionalInt(prevMeta?.mode),
        beforeUid: optionalInt(prevMeta?.uid),
        beforeGid: optionalInt(prevMeta?.gid),
        afterSha256: request.next === null ? null : sha256(request.next),
        afterBytes: request.next?.length ?? 0,
        binary: decision.binary,
        storedBytes: existingSize ?? payload?.gz.length ?? 0,
        uncertain: false,
        reanchored: decision.reanchored
      }
      const plan = Eviction.plan({
        versions: storedVersions(state),
        blobSizes: state.blobSizes,
        incoming: { descriptor, recordBytes: Record.recordBytes(record), blob: record.blob, blobBytes: record.storedBytes },
        perFileCap: settings.perFileCap,
        globalCapBytes: settings.globalCapBytes
      })
      const warnings: Array<string> = []
      let full = false
      if (plan.overCap) {
        if (settings.diskPressurePolicy === "refuse") full = true
        else {
          warnings.push(
            `the backup store holds ${plan.usedBytesAfter} bytes, over its cap of ${settings.globalCapBytes}, with only the newest version of each file left; stored anyway (MCP_DISK_PRESSURE_POLICY=warn)`
          )
        }
      }
      return { record, decision, plan, warnings, full }
    }

    const evict = async (state: State, plan: Eviction.Plan) => {
      const byId = new Map(state.records.map((r) => [r.versionId, r]))
      const touched = new Set<string>()
      for (const id of plan.evict) {
        const r = byId.get(id)
        if (r === undefined) continue
        await storage.remove(recordPath(r.descriptor, r.versionId))
        touched.add(r.descriptor)
      }
      // Records go first, then the blobs no remaining record names: never a record without its blob.
      for (const sha of plan.deleteBlobs) await storage.remove(blobPath(sha))
      for (const descriptor of touched) {
        const left = await storage.list(targetDir(descriptor))
        if (!left.some((n) => RECORD_NAME.test(n))) {
          await storage.remove(`${targetDir(descriptor)}/target.json`)
          await storage.removeDir(targetDir(descriptor))
        }
      }
    }

    const writeBlob = async (payload: Policy.StoredPayload) => {
      const existing = await storage.read(blobPath(payload.sha256))
      if (existing !== null && Buffer.compare(existing, payload.gz) === 0) return existing.length
      if (existing !== null) {
        try {
          if (sha256(gunzip(existing)) === payload.sha256) return existing.length
        } catch {
          // A damaged blob under this name: replace it with the good copy below.
        }
      }
      await storage.writeAtomic(blobPath(payload.sha256), payload.gz)
      return payload.gz.length
    }

    const storeUnlocked = async (request: StoreRequest, nowMs: number): Promise<Either.Either<StoreResult, BackupStoreFull>> => {
      const state = await current()
      const prepared = prepare(state, request, nowMs)
      if (prepared.full) {
        return Either.left(new BackupStoreFull({ usedBytes: prepared.plan.usedBytesAfter, capBytes: settings.globalCapBytes }))
      }
      const { decision } = prepared
      const record = await mutate(
        state,
        async () => {
          let record = prepared.record
          if (decision.kind === "full" || decision.kind === "rdiff") {
            const size = await writeBlob(decision.payload)
            if (size !== record.storedBytes) record = { ...record, storedBytes: size }
          }
          const info = Target.info(request.target)
          const infoPath = `${targetDir(info.descriptor)}/target.json`
          if ((await storage.read(infoPath)) === null) await storage.writeAtomic(infoPath, utf8(`${JSON.stringify(info)}\n`))
          await storage.writeAtomic(recordPath(record.descriptor, record.versionId), utf8(Record.toJson(record)))
          await evict(state, prepared.plan)
          return record
        },
        (s, record) => {
          const evicted = new Set(prepared.plan.evict)
          s.records = s.records.filter((r) => !evicted.has(r.versionId))
          for (const id of evicted) s.recordSizes.delete(id)
          for (const sha of prepared.plan.deleteBlobs) s.blobSizes.delete(sha)
          s.records.push(record)
          s.recordSizes.set(record.versionId, Record.recordBytes(record))
          if (record.blob !== null) s.blobSizes.set(record.blob, record.storedBytes)
        }
      )
      return Either.right({
        versionId: record.versionId,
        kind: record.kind,
        revertible: record.kind !== "metadata-only",
        reanchored: record.reanchored,
        evicted: prepared.plan.evict,
        warnings: prepared.warnings,
        record
      })
    }

    const hasBlobs = async (records: ReadonlyArray<Record.VersionRecord>) => {
      const present = new Set<string>()
      for (const r of records) if (r.blob !== null && (await storage.stat(blobPath(r.blob))) !== null) present.add(r.blob)
      return present
    }

    const startup = async (nowMs: number) => {
      const notes: Array<string> = []
      const marker = await storage.read("store.json")
      if (marker === null) await storage.writeAtomic("store.json", utf8(`${JSON.stringify(STORE_FORMAT)}\n`))
      else {
        let ok = false
        try {
          const parsed = JSON.parse(text(marker)) as { format?: unknown; version?: unknown }
          ok = parsed.format === STORE_FORMAT.format && parsed.version === STORE_FORMAT.version
        } catch {
          ok = false
        }
        if (!ok) throw new Error(`${storage.describe}/store.json is not a homelab-mcp-backups v1 store; point MCP_BACKUP_DIR elsewhere`)
      }
      // Cleanup changes the store: other processes must drop their caches.
      await storage.writeAtomic(GENERATION, utf8(Crypto.randomBytes(12).toString("hex")), { durable: false })
      for (const name of await storage.list("tmp")) {
        const s = await storage.stat(`tmp/${name}`)
        if (s !== null && nowMs - s.mtimeMs > stagingMaxAgeMs) await storage.remove(`tmp/${name}`)
      }
      const state = await loadState(storage)
      const referenced = new Set(state.records.flatMap((r) => (r.blob === null ? [] : [r.blob])))
      for (const sha of state.blobSizes.keys()) {
        if (!referenced.has(sha)) await storage.remove(blobPath(sha))
      }
      for (const r of state.records) {
        if (r.blob !== null && !state.blobSizes.has(r.blob)) {
          notes.push(`backup version ${r.versionId} of ${r.descriptor} names a missing blob ${r.blob}; it is kept and not revertible`)
        }
      }
      for (const file of state.unreadable) notes.push(`backup record ${file} cannot be read; it is ignored`)
      for (const key of state.emptyTargets) {
        await storage.remove(`targets/${key}/target.json`)
        await storage.removeDir(`targets/${key}`)
      }
      return notes
    }

    const startNow = yield* Clock.currentTimeMillis
    const notes = yield* locked(() => startup(startNow)).pipe(Effect.catchAll(die("startup")))
    for (const note of notes) yield* Effect.logWarning(note)

    const findRecord = (descriptor: string, versionId: string) =>
      unlocked(() => targetRecords(descriptor)).pipe(
        Effect.catchAll(die("read records")),
        Effect.flatMap((records) => {
          const record = records.find((r) => r.versionId === versionId)
          return record === undefined ? Effect.fail(new VersionNotFound({ target: descriptor, versionId })) : Effect.succeed(record)
        })
      )

    const service: BackupStore.Service = {
      settings,
      versions: (descriptor) => unlocked(() => targetRecords(descriptor)).pipe(Effect.catchAll(die("read records"))),
      newest: (descriptor) =>
        unlocked(async () => {
          const cached = await whenCached((state) => ({ newest: ownNewest(state, descriptor) }))
          return cached !== null ? cached.newest : (await targetRecords(descriptor))[0]
        }).pipe(
          Effect.map(Option.fromNullable),
          Effect.catchAll(die("read records"))
        ),
      list: Effect.fn("BackupStore.list")(function* (descriptor, live) {
        const classified = yield* unlocked(async () => {
          const records = await targetRecords(descriptor)
          const present = await hasBlobs(records)
          const c = Reconstruct.classify(records, live, (b) => present.has(b))
          return records.map((record): VersionView => {
            const r = c.get(record.versionId)!
            return r.revertible ? { record, revertible: true } : { record, revertible: false, revertReason: r.reason }
          })
        }).pipe(Effect.catchAll(die("list")))
        return classified
      }),
      checkCapacity: Effect.fn("BackupStore.checkCapacity")(function* (request) {
        const now = yield* Clock.currentTimeMillis
        // An advisory check (store decides again under the lock): the cached state needs no lock.
        const prepared = yield* unlocked(() => whenCached((state) => prepare(state, request, now))).pipe(
          Effect.flatMap((cached) => cached !== null ? Effect.succeed(cached) : locked(async () => prepare(await current(), request, now))),
          Effect.mapError(internal(request.opId, "capacity check"))
        )
        if (prepared.full) {
          return yield* new BackupStoreFull({ usedBytes: prepared.plan.usedBytesAfter, capBytes: settings.globalCapBytes })
        }
        const check: CapacityCheck = {
          kind: prepared.record.kind,
          evict: prepared.plan.evict,
          usedBytesAfter: prepared.plan.usedBytesAfter,
          capBytes: settings.globalCapBytes,
          warnings: prepared.warnings
        }
        return check
      }),
      store: Effect.fn("BackupStore.store")(function* (request) {
        const now = yield* Clock.currentTimeMillis
        const result = yield* locked(() => storeUnlocked(request, now)).pipe(Effect.mapError(internal(request.opId, "store")))
        return yield* result
      }),
      restore: Effect.fn("BackupStore.restore")(function* (descriptor, versionId, live) {
        const outcome = yield* locked(async () => {
          const records = await targetRecords(descriptor)
          if (records.length === 0) return { _tag: "none" as const }
          const present = await hasBlobs(records)
          const classes = Reconstruct.classify(records, live, (b) => present.has(b))
          let chosen: Record.VersionRecord | undefined
          if (versionId !== undefined) {
            chosen = records.find((r) => r.versionId === versionId)
            if (chosen === undefined) return { _tag: "notFound" as const }
          } else {
            chosen = records.find((r) => classes.get(r.versionId)?.revertible === true)
            if (chosen === undefined) {
              const reasons = records.map((r) => {
                const c = classes.get(r.versionId)!
                return `${r.versionId}: ${c.revertible ? "revertible" : c.reason}`
              })
              return { _tag: "notRevertible" as const, reasons }
            }
          }
          const c = classes.get(chosen.versionId)!
          if (!c.revertible) return { _tag: "notRevertible" as const, reasons: [`${chosen.versionId}: ${c.reason}`] }
          const needed = Reconstruct.requiredBlobs(records, chosen.versionId, live, (b) => present.has(b))
          const blobs = new Map<string, Uint8Array>()
          if (Either.isRight(needed)) {
            for (const sha of needed.right) {
              const bytes = await storage.read(blobPath(sha))
              if (bytes !== null) blobs.set(sha, bytes)
            }
          }
          const rebuilt = Reconstruct.reconstruct(records, chosen.versionId, live, blobs)
          return Either.isRight(rebuilt)
            ? {
              _tag: "ok" as const,
              result: {
                record: chosen,
                state: rebuilt.right,
                changedOutOfBand: Reconstruct.changedOutOfBand(records, live),
                expectedLiveSha256: records[0]!.afterSha256
              } satisfies RestoreResult
            }
            : { _tag: "notRevertible" as const, reasons: [`${chosen.versionId}: ${rebuilt.left.reason}`] }
        }).pipe(Effect.catchAll(die("restore")))
        switch (outcome._tag) {
          case "none":
            return yield* new NoBackups({ target: descriptor })
          case "notFound":
            return yield* new VersionNotFound({ target: descriptor, versionId: versionId ?? "" })
          case "notRevertible":
            return yield* new NotRevertible({ target: descriptor, reasons: outcome.reasons })
          case "ok":
            return outcome.result
        }
      }),
      remove: Effect.fn("BackupStore.remove")(function* (descriptor, versionId) {
        yield* findRecord(descriptor, versionId)
        yield* locked(async () => {
          const state = await current()
          const record = state.records.find((r) => r.versionId === versionId && r.descriptor === descriptor)
          if (record === undefined) return
          const stillUsed = state.records.some((r) => r.versionId !== versionId && r.blob === record.blob)
          await mutate(
            state,
            async () => {
              await storage.remove(recordPath(descriptor, versionId))
              if (record.blob !== null && !stillUsed) await storage.remove(blobPath(record.blob))
              const left = await storage.list(targetDir(descriptor))
              if (!left.some((n) => RECORD_NAME.test(n))) {
                await storage.remove(`${targetDir(descriptor)}/target.json`)
                await storage.removeDir(targetDir(descriptor))
              }
            },
            (s) => {
              s.records = s.records.filter((r) => r.versionId !== versionId)
              s.recordSizes.delete(versionId)
              if (record.blob !== null && !stillUsed) s.blobSizes.delete(record.blob)
            }
          )
        }).pipe(Effect.catchAll(die("remove")))
      }),
      markUncertain: Effect.fn("BackupStore.markUncertain")(function* (descriptor, versionId) {
        yield* findRecord(descriptor, versionId)
        const updated = yield* locked(async () => {
          const state = await current()
          const bytes = await storage.read(recordPath(descriptor, versionId))
          if (bytes === null) return null
          const record = { ...Record.decodeJson(text(bytes)), uncertain: true }
          return mutate(
            state,
            async () => {
              await storage.writeAtomic(recordPath(descriptor, versionId), utf8(Record.toJson(record)))
              return record
            },
            (s) => {
              s.records = s.records.map((r) => (r.versionId === versionId ? record : r))
              s.recordSizes.set(versionId, Record.recordBytes(record))
            }
          )
        }).pipe(Effect.catchAll(die("mark uncertain")))
        return updated === null ? yield* new VersionNotFound({ target: descriptor, versionId }) : updated
      }),
      usage: locked(async () => {
        const state = await current()
        const usage: Usage = {
          usedBytes: Eviction.usage(storedVersions(state), state.blobSizes),
          capBytes: settings.globalCapBytes,
          targets: new Set(state.records.map((r) => r.descriptor)).size,
          versions: state.records.length,
          blobs: state.blobSizes.size
        }
        return usage
      }).pipe(Effect.catchAll(die("usage"))),
      withTargetLock: (descriptor, effect) =>
        Effect.suspend(() => {
          let lock = targetLocks.get(descriptor)
          if (lock === undefined) {
            lock = Effect.unsafeMakeSemaphore(1)
            targetLocks.set(descriptor, lock)
          }
          return lock.withPermits(1)(
            Effect.ensuring(
              effect,
              Effect.sync(() => {
                sectionsEnded += 1
                lastEnded.set(descriptor, sectionsEnded)
              })
            )
          )
        }),
      lockMark: Effect.sync(() => sectionsEnded),
      lockedSince: (descriptor, mark) => Effect.sync(() => (lastEnded.get(descriptor) ?? 0) > mark)
    }
    return service
  })

/** The store on disk under `options.dir` (created if missing). */
export const make = (options: Options): Effect.Effect<BackupStore.Service> =>
  Effect.tryPromise({
    try: () => Promise.all(["blobs", "targets", "tmp"].map((d) => fs.mkdir(path.join(options.dir, d), { recursive: true, mode: 0o700 }))),
    catch: (e) => new StoreIoError({ message: `cannot create the backup directory ${options.dir}: ${String(e)}` })
  }).pipe(Effect.orDie, Effect.zipRight(makeWith(fsStorage(options.dir), options)))

/** The file-backed store as a layer. */
export const layer = (options: Options): Layer.Layer<BackupStore> => Layer.effect(BackupStore, make(options))

/** The settings as a `Config` (tiers-setup.md §3, "Backups"). */
export const config: Config.Config<Options> = Config.all({
  dir: DataDir.under("MCP_BACKUP_DIR", "backups"),
  largeFileBytes: ConfigVars.integer("MCP_LARGE_FILE_BYTES", Policy.defaultSettings.largeFileBytes, 1, 1_073_741_824),
  largeFilePolicy: ConfigVars.literal("MCP_LARGE_FILE_POLICY", "full", ["full", "metadata-only"]),
  perFileCap: ConfigVars.integer("MCP_BACKUP_PER_FILE_CAP", Policy.defaultSettings.perFileCap, 1, 100_000),
  globalCapBytes: ConfigVars.integer("MCP_BACKUP_GLOBAL_CAP_BYTES", Policy.defaultSettings.globalCapBytes, 1, 1_099_511_627_776),
  diskPressurePolicy: ConfigVars.literal("MCP_DISK_PRESSURE_POLICY", "warn", ["warn", "refuse"])
})

/** Reads MCP_BACKUP_DIR (default `<data>/backups`), MCP_LARGE_FILE_BYTES, MCP_LARGE_FILE_POLICY, MCP_BACKUP_PER_FILE_CAP, MCP_BACKUP_GLOBAL_CAP_BYTES and MCP_DISK_PRESSURE_POLICY. */
export const layerConfig = (
  overrides: Config.Config<Options> = config
): Layer.Layer<BackupStore, ConfigError.ConfigError> => Layer.unwrapEffect(Effect.map(overrides, layer))

/** An in-memory store with the same logic (eviction, reconstruction, locking) for tests. */
export const makeMemory = (options: Omit<Options, "dir"> = {}): Effect.Effect<BackupStore.Service> =>
  makeWith(memoryStorage(), options)

/** The in-memory store as a layer. */
export const layerTest = (options: Omit<Options, "dir"> = {}): Layer.Layer<BackupStore> =>
  Layer.effect(BackupStore, makeMemory(options))
