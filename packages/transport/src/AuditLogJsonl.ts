/**
 * The audit log as a JSONL file (backups-audit.md §5–§6): one canonical-JSON record per line, each
 * chained to the previous one by hash, written with one `write` on an O_APPEND descriptor and fsynced
 * before the caller continues; `audit.head.json` replaced atomically after each append; appends
 * serialized in process (semaphore) and across processes (a lock file beside the log).
 */
import * as AuditRecord from "@homelab-mcp/core/audit/AuditRecord"
import * as Canonical from "@homelab-mcp/core/audit/Canonical"
import * as Chain from "@homelab-mcp/core/audit/Chain"
import * as Query from "@homelab-mcp/core/audit/Query"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import * as DataDir from "@homelab-mcp/core/DataDir"
import { AuditUnavailable } from "@homelab-mcp/core/Errors"
import type { Tier } from "@homelab-mcp/core/Tier"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as File from "./internal/auditFile.js"
import { auditRedactor, redactAuditText } from "./internal/auditRedact.js"
import * as Redact from "@homelab-mcp/core/redaction/Redact"

export { AuditLog }

/** Options of the file-backed log. */
export interface Options extends AuditRecord.Identity {
  /** The log file (`MCP_AUDIT_LOG_PATH`, default `<data>/audit.jsonl`). */
  readonly path: string
  /** The head file (default `audit.head.json` beside the log). */
  readonly headPath?: string
  /** How long an append waits for another process's lock before failing (default 10000 ms). */
  readonly lockTimeoutMs?: number
  /** Where integrity warnings go (default: a line on stderr). */
  readonly onWarning?: (message: string) => void
  /** The text redactor for `cmd`, `note`, `error.message`, `refusal.reason` (default: the shared rules). */
  readonly redact?: AuditRecord.TextRedactor
}

/** @internal Storage under the chain logic: the JSONL file, or memory for tests. */
interface Backend {
  readonly describe: string
  readonly locked: <A>(f: () => Promise<A>) => Promise<A>
  readonly readTail: () => Promise<File.Tail>
  readonly readHead: () => Promise<Chain.Head | null | "malformed">
  readonly readAll: () => Promise<string>
  readonly append: (text: string) => Promise<void>
  readonly writeHead: (head: Chain.Head) => Promise<void>
}

const defaultWarn = (message: string) => {
  process.stderr.write(`homelab-mcp: WARNING: ${message}\n`)
}

const unavailable = (what: string) => (cause: unknown) =>
  new AuditUnavailable({
    reason: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

const decodeQuery = Schema.decodeUnknown(Query.QueryInput)

const makeService = (
  backend: Backend,
  identity: AuditRecord.Identity,
  options: { readonly redact: AuditRecord.TextRedactor; readonly warn: (m: string) => void }
) =>
  Effect.gen(function* () {
    const semaphore = yield* Effect.makeSemaphore(1)

    /** Under both locks: chain one entry after the current last record and write it durably. */
    const appendUnlocked = async (entry: AuditRecord.AuditEntry, nowMs: number): Promise<AuditRecord.AuditRecord> => {
      const tail = await backend.readTail()
      const last = tail.last?.record
      const record = Canonical.seal({
        ...AuditRecord.redactEntry(entry, options.redact),
        ...identity,
        v: AuditRecord.VERSION,
        seq: last ? last.seq + 1 : 1,
        ts: new Date(nowMs).toISOString(),
        prevHash: last ? last.hash : AuditRecord.GENESIS_HASH
      })
      const line = Canonical.toLine(record)
      await backend.append(tail.parsed.unterminated ? `\n${line}` : line)
      await backend.writeHead({ seq: record.seq, hash: record.hash })
      return record
    }

    const append = Effect.fn("AuditLog.append")(function* (entry: AuditRecord.AuditEntry) {
      const now = yield* Clock.currentTimeMillis
      // Waiting for the in-process turn is interruptible; once it is ours, the record is written whole
      // and an interruption takes effect only after the write (never a half-written line).
      return yield* semaphore.withPermits(1)(
        Effect.uninterruptible(
          Effect.tryPromise({
            try: () => backend.locked(() => appendUnlocked(entry, now)),
            catch: unavailable(`cannot append to ${backend.describe}`)
          })
        )
      )
    })

    const readVerified = Effect.tryPromise({
      try: () =>
        backend.locked(async () => {
          const text = await backend.readAll()
          const head = await backend.readHead()
          return { text, head }
        }),
      catch: unavailable(`cannot read ${backend.describe}`)
    })

    const report = (text: string, head: Chain.Head | null | "malformed") => {
      const log = Chain.parseLog(text)
      const chain = Chain.verifyChain(log, head === "malformed" ? null : head)
      const adjusted: Chain.ChainReport =
        head === "malformed" ? { ...chain, ok: false, headMatches: false } : chain
      return { log, chain: adjusted }
    }

    const verify = Effect.gen(function* () {
      const { text, head } = yield* semaphore.withPermits(1)(readVerified)
      return report(text, head).chain
    }).pipe(Effect.withSpan("AuditLog.verify"))

    const query = Effect.fn("AuditLog.query")(function* (input: Query.QueryRequest) {
      // the tool decodes its input first: an invalid query here is a programming error (a defect)
      const q = yield* decodeQuery(input).pipe(Effect.orDie)
      if (q.verifyChain) {
        const { text, head } = yield* semaphore.withPermits(1)(readVerified)
        const { log, chain } = report(text, head)
        return Query.run(q, log, chain)
      }
      const text = yield* Effect.tryPromise({ try: () => backend.readAll(), catch: unavailable(`cannot read ${backend.describe}`) })
      return Query.run(q, Chain.parseLog(text))
    })

    const event = (note: string): AuditRecord.AuditEntry => ({ opId: randomUUID(), phase: "event", tool: "_audit", note })

    /** Startup: check the tail against its hash and the head file, then record the start. */
    const startup = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* semaphore.withPermits(1)(
        Effect.tryPromise({
          try: () =>
            backend.locked(async () => {
              const tail = await backend.readTail()
              const head = await backend.readHead()
              if (tail.parsed.tornTail) {
                const msg = `the last line of ${backend.describe} is torn (an interrupted write); it is kept as is and appending continues on a new line`
                options.warn(msg)
                await appendUnlocked(event(`torn last line detected: ${msg}`), now)
              }
              const check: Chain.TailCheck =
                head === "malformed"
                  ? { _tag: "Discontinuity", detail: "the head file is malformed" }
                  : Chain.checkTail(
                      { ...tail.parsed, records: tail.last ? [tail.last] : [] },
                      head
                    )
              const lastSeq = tail.last?.record.seq ?? 0
              if (check._tag === "HeadBehind" && tail.last) {
                options.warn(`audit head file was one record behind seq ${lastSeq} (crash after an append); repaired`)
                await backend.writeHead({ seq: tail.last.record.seq, hash: tail.last.record.hash })
              } else if (check._tag === "Discontinuity") {
                const note = `chain discontinuity at seq ${lastSeq + 1}: ${check.detail}`
                options.warn(`audit log ${note}`)
                await appendUnlocked(event(note), now)
              }
              await appendUnlocked(
                event(
                  `server start: version ${identity.serverVersion}, tier ${identity.tier}, root ${identity.rootTier ? "enabled" : "disabled"}`
                ),
                now
              )
            }),
          catch: unavailable(`cannot open ${backend.describe}`)
        })
      )
    })

    const service: AuditLog.Service = { append, query, verify }
    return { service, startup }
  })

const fileBackend = (options: Options): Backend => {
  const logPath = options.path
  const headPath = options.headPath ?? path.join(path.dirname(logPath), "audit.head.json")
  const lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000, staleMs: 30_000 }
  return {
    describe: logPath,
    locked: async (f) => {
      const release = await File.acquireLock(`${logPath}.lock`, lockOptions)
      try {
        return await f()
      } finally {
        await release()
      }
    },
    readTail: () => File.readTail(logPath),
    readHead: () => File.readHead(headPath),
    readAll: () =>
      fs.readFile(logPath, "utf8").catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return ""
        throw e
      }),
    append: (text) => File.appendDurably(logPath, text),
    writeHead: (head) => File.writeHead(headPath, head)
  }
}

/** Opens the file-backed log: checks the tail and head, writes the start event; fails with `AuditUnavailable`. */
export const make = (options: Options): Effect.Effect<AuditLog.Service, AuditUnavailable> =>
  Effect.gen(function* () {
    const identity: AuditRecord.Identity = {
      tier: options.tier,
      rootTier: options.rootTier,
      serverVersion: options.serverVersion,
      node: options.node,
      host: options.host
    }
    const { service, startup } = yield* makeService(fileBackend(options), identity, {
      redact: options.redact ?? redactAuditText,
      warn: options.onWarning ?? defaultWarn
    })
    yield* startup
    return service
  })

/** The file-backed log as a layer. */
export const layer = (options: Options): Layer.Layer<AuditLog, AuditUnavailable> => Layer.effect(AuditLog, make(options))

/** Server identity for `layerConfig`; node and host come from the PVE API client. */
export interface IdentityOptions {
  readonly tier: Tier
  readonly rootTier: boolean
  readonly serverVersion: string
}

/** Reads `MCP_AUDIT_LOG_PATH` (default `<data>/audit.jsonl`) and `MCP_REDACTION_EXTRA_KEYS`; node and host from `PveApi`. */
export const layerConfig = (
  identity: IdentityOptions
): Layer.Layer<AuditLog, AuditUnavailable | ConfigError.ConfigError, PveApi> =>
  Layer.effect(
    AuditLog,
    Effect.gen(function* () {
      const logPath = yield* DataDir.under("MCP_AUDIT_LOG_PATH", "audit.jsonl")
      const extra = yield* Redact.extraKeysConfig
      const api = yield* PveApi
      return yield* make({
        ...identity,
        path: logPath,
        node: api.node,
        host: api.host,
        redact: auditRedactor(extra)
      })
    })
  )

/** An in-memory log with the same chaining, redaction and query logic, for tests. */
export interface MemoryLog {
  readonly service: AuditLog.Service
  /** The log text as it would be on disk. */
  readonly text: () => string
  /** Replaces the log text (to simulate tampering or torn lines). */
  readonly setText: (text: string) => void
  /** Parsed records, oldest first. */
  readonly records: () => ReadonlyArray<AuditRecord.AuditRecord>
}

/** Options of the in-memory log. */
export interface MemoryOptions {
  readonly identity?: Partial<AuditRecord.Identity>
  /** Appends of entries for which this returns true fail with `AuditUnavailable`. */
  readonly failAppend?: (entry: AuditRecord.AuditEntry) => boolean
  /** Write the start event (default false, so tests see only their own records). */
  readonly startEvent?: boolean
}

/** Builds an in-memory log (no start event unless asked). */
export const makeMemory = (options: MemoryOptions = {}): Effect.Effect<MemoryLog> =>
  Effect.gen(function* () {
    let text = ""
    let head: Chain.Head | null = null
    let failing: AuditRecord.AuditEntry | undefined
    const backend: Backend = {
      describe: "the in-memory audit log",
      locked: (f) => f(),
      readTail: async () => {
        const parsed = Chain.parseLog(text)
        return { last: parsed.records.at(-1), parsed, size: text.length }
      },
      readHead: async () => head,
      readAll: async () => text,
      append: async (t) => {
        if (failing !== undefined) throw new Error("append refused by the test double")
        text += t
      },
      writeHead: async (h) => {
        head = h
      }
    }
    const identity: AuditRecord.Identity = {
      tier: "operate",
      rootTier: false,
      serverVersion: "0.0.0-test",
      node: "pve",
      host: "127.0.0.1",
      ...options.identity
    }
    const { service, startup } = yield* makeService(backend, identity, { redact: redactAuditText, warn: () => {} })
    if (options.startEvent === true) yield* Effect.orDie(startup)
    const wrapped: AuditLog.Service = {
      ...service,
      append: (entry) =>
        Effect.suspend(() => {
          failing = options.failAppend?.(entry) ? entry : undefined
          return service.append(entry)
        })
    }
    return {
      service: wrapped,
      text: () => text,
      setText: (t) => {
        text = t
      },
      records: () => Chain.parseLog(text).records.map((r) => r.record)
    }
  })

/** The in-memory log as a layer. */
export const layerTest = (options: MemoryOptions = {}): Layer.Layer<AuditLog> =>
  Layer.effect(AuditLog, Effect.map(makeMemory(options), (m) => m.service))
