/**
 * File target descriptors (tools.md §1 "Targets"): `host:<path>`, `pct:<vmid>:<path>`, `qm:<vmid>:<path>`
 * over the canonical, symlink-resolved path, and the store key derived from them.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { sha256 } from "./Hash.js"

/** Where a file lives. */
export const TargetKind = Schema.Literal("host", "pct", "qm")
/** Where a file lives. */
export type TargetKind = typeof TargetKind.Type

/** A parsed target; `descriptor` is its canonical text form. */
export interface Target {
  readonly kind: TargetKind
  readonly vmid?: number
  readonly path: string
  readonly descriptor: string
}

/** `targets/<targetKey>/target.json`. */
export const TargetInfo = Schema.Struct({
  descriptor: Schema.String,
  kind: TargetKind,
  vmid: Schema.optional(Schema.Number),
  path: Schema.String
})
/** `targets/<targetKey>/target.json`. */
export type TargetInfo = typeof TargetInfo.Type

const validPath = (path: string) => path.startsWith("/") && !path.includes("\0") && path.length <= 4096
const validVmid = (vmid: number) => Number.isInteger(vmid) && vmid >= 100 && vmid <= 999999999

/** The host file at `path` (absolute). Throws on a relative path (a programming error upstream). */
export const host = (path: string): Target => {
  if (!validPath(path)) throw new TypeError(`target path must be absolute: ${JSON.stringify(path)}`)
  return { kind: "host", path, descriptor: `host:${path}` }
}

/** The file at `path` inside container `vmid`. */
export const pct = (vmid: number, path: string): Target => guest("pct", vmid, path)

/** The file at `path` inside VM `vmid`. */
export const qm = (vmid: number, path: string): Target => guest("qm", vmid, path)

const guest = (kind: "pct" | "qm", vmid: number, path: string): Target => {
  if (!validPath(path)) throw new TypeError(`target path must be absolute: ${JSON.stringify(path)}`)
  if (!validVmid(vmid)) throw new TypeError(`vmid out of range: ${vmid}`)
  return { kind, vmid, path, descriptor: `${kind}:${vmid}:${path}` }
}

/** Parses a descriptor; `Left` names what is wrong with it. */
export const parse = (descriptor: string): Either.Either<Target, string> => {
  if (descriptor.startsWith("host:")) {
    const path = descriptor.slice(5)
    return validPath(path) ? Either.right(host(path)) : Either.left(`host target path must be absolute: ${descriptor}`)
  }
  const m = /^(pct|qm):(\d+):(.*)$/s.exec(descriptor)
  if (m === null) return Either.left(`not a target descriptor (host:<path>, pct:<vmid>:<path>, qm:<vmid>:<path>): ${descriptor}`)
  const vmid = Number(m[2])
  const path = m[3]!
  if (!validVmid(vmid)) return Either.left(`vmid out of range in ${descriptor}`)
  if (!validPath(path)) return Either.left(`target path must be absolute: ${descriptor}`)
  return Either.right(guest(m[1] as "pct" | "qm", vmid, path))
}

/** The store key of a descriptor: the first 32 hex digits of its sha256. */
export const targetKey = (descriptor: string): string => sha256(descriptor).slice(0, 32)

/** The `target.json` contents of a target. */
export const info = (target: Target): TargetInfo =>
  target.vmid === undefined
    ? { descriptor: target.descriptor, kind: target.kind, path: target.path }
    : { descriptor: target.descriptor, kind: target.kind, vmid: target.vmid, path: target.path }
