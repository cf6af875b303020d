/**
 * Snapshot names and ownership (guardrails.md §5). Pure: names are generated from an injected clock
 * value and the names already taken; ownership needs both the `mcp-` prefix and the marker line.
 */
import * as Either from "effect/Either"
import { InvalidSnapshotName } from "../Errors.js"

/** First line of every description this server writes. */
export const OWNERSHIP_MARKER = "homelab-mcp managed"

/** Names the model may pass to rollback/delete (40 characters at most, as Proxmox allows). */
export const NAME_PATTERN = /^mcp-[A-Za-z0-9_-]{1,36}$/

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

/** `mcp-YYYYMMDD-HHMMSS` in UTC for the given instant. */
export const baseName = (now: Date | number): string => {
  const d = typeof now === "number" ? new Date(now) : now
  return `mcp-${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`
}

/** A fresh name: the base name, or `-2`, `-3`… appended when taken. Always matches `NAME_PATTERN`. */
export const generateName = (now: Date | number, existing: Iterable<string>): string => {
  const taken = new Set(existing)
  const base = baseName(now)
  if (!taken.has(base)) return base
  for (let i = 2; ; i++) {
    const candidate = `${base}-${i}`
    if (!taken.has(candidate)) return candidate
  }
}

/** Succeeds with the name when it matches `NAME_PATTERN`, else `InvalidSnapshotName` (before any node contact). */
export const validateName = (name: string): Either.Either<string, InvalidSnapshotName> =>
  NAME_PATTERN.test(name) ? Either.right(name) : Either.left(new InvalidSnapshotName({ name }))

/** The description written on create: the marker line, then the note (if any). */
export const description = (note?: string): string =>
  note === undefined || note.length === 0 ? OWNERSHIP_MARKER : `${OWNERSHIP_MARKER}\n${note}`

const firstLine = (text: string): string => (text.split(/\r?\n/, 1)[0] ?? "").trimEnd()

/** Owned = name starts with `mcp-` and the description's first line is the marker (operator snapshots never are). */
export const isOwned = (snapshot: { readonly name: string; readonly description?: string | null | undefined }): boolean =>
  snapshot.name.startsWith("mcp-") && typeof snapshot.description === "string" && firstLine(snapshot.description) === OWNERSHIP_MARKER

/** The note part of an owned description (text after the marker line), or null when there is none. */
export const noteOf = (desc: string | null | undefined): string | null => {
  if (typeof desc !== "string" || firstLine(desc) !== OWNERSHIP_MARKER) return null
  const nl = desc.indexOf("\n")
  if (nl < 0) return null
  const rest = desc.slice(nl + 1)
  return rest.length > 0 ? rest : null
}

/** Owned snapshots to evict after a create: oldest first, beyond `cap` (operator snapshots are never listed). */
export const evictionCandidates = <S extends { readonly name: string; readonly description?: string | null | undefined; readonly snaptime?: number | null | undefined }>(
  snapshots: ReadonlyArray<S>,
  cap: number
): ReadonlyArray<S> => {
  const owned = snapshots
    .filter(isOwned)
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (a.s.snaptime ?? 0) - (b.s.snaptime ?? 0) || a.s.name.localeCompare(b.s.name) || a.i - b.i)
    .map((x) => x.s)
  const excess = owned.length - Math.max(0, cap)
  return excess > 0 ? owned.slice(0, excess) : []
}
