/**
 * Path validation (guardrails.md §3) and protected paths for host writes (§3.1). Pure: symlink
 * resolution happens in the transports, which hand the resolved path back for `validateResolved`.
 */
import * as Either from "effect/Either"
import { PathRejected, ProtectedPath } from "../Errors.js"

/** Where the path lives: the node (`host`) or inside a guest (`guest`). */
export type PathContext = "host" | "guest"

/** Deny and allow lists (absolute paths, matched by whole segments). Empty allow = everything not denied. */
export interface PathLists {
  readonly deny: ReadonlyArray<string>
  readonly allow: ReadonlyArray<string>
}

/** The default deny list of both contexts (`MCP_PATH_DENYLIST`, `MCP_GUEST_PATH_DENYLIST`). */
export const DEFAULT_DENY: ReadonlyArray<string> = ["/proc", "/sys", "/dev"]

/** Default lists: deny `/proc,/sys,/dev`, allow everything else. */
export const DEFAULT_LISTS: PathLists = { deny: DEFAULT_DENY, allow: [] }

/** Longest accepted path in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096

// eslint-disable-next-line no-control-regex -- rejecting control characters is the point of this pattern
const CONTROL = /[\u0000-\u001f\u007f]/

const reject = (path: string, reason: string, extra: { canonical?: string; resolved?: string } = {}) =>
  Either.left(new PathRejected({ path, reason, ...extra }))

/**
 * Canonical form (rules 1–2): absolute, at most 4096 bytes, no NUL or control characters, repeated
 * slashes collapsed, `.` segments and a trailing slash removed; a `..` segment is rejected.
 */
export const canonicalize = (input: string): Either.Either<string, PathRejected> => {
  if (input.length === 0) return reject(input, "the path is empty; give an absolute path")
  if (!input.startsWith("/")) return reject(input, "the path must be absolute (start with /)")
  if (new TextEncoder().encode(input).length > MAX_PATH_BYTES) return reject(input, `the path is longer than ${MAX_PATH_BYTES} bytes`)
  if (input.includes("\u0000")) return reject(input, "the path contains a NUL byte")
  if (CONTROL.test(input)) return reject(input, "the path contains a control character")
  const segs: Array<string> = []
  for (const seg of input.split("/")) {
    if (seg === "" || seg === ".") continue
    if (seg === "..") return reject(input, "the path contains a '..' segment; give the path without it")
    segs.push(seg)
  }
  return Either.right(`/${segs.join("/")}`)
}

/** True when `path` is `root` or lies under it (whole segments: `/proc` matches `/proc/x`, not `/processes`). */
export const isUnder = (path: string, root: string): boolean => {
  const r = root.length > 1 ? root.replace(/\/+$/, "") : root
  if (r === "/") return path.startsWith("/")
  return path === r || path.startsWith(`${r}/`)
}

const normalizeList = (list: ReadonlyArray<string>): ReadonlyArray<string> =>
  list
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => Either.getOrElse(canonicalize(e), () => e))

/** Parses a comma-separated list variable (`MCP_PATH_DENYLIST=/proc,/sys,/dev`); undefined gives `fallback`. */
export const parseList = (raw: string | undefined, fallback: ReadonlyArray<string> = []): ReadonlyArray<string> =>
  raw === undefined ? fallback : normalizeList(raw.split(","))

const checkLists = (
  input: string,
  canonical: string,
  context: PathContext,
  lists: PathLists,
  resolved?: string
): Either.Either<string, PathRejected> => {
  const target = resolved ?? canonical
  const extra = resolved !== undefined ? { canonical, resolved } : { canonical }
  const where = context === "host" ? "host" : "guest"
  const denied = normalizeList(lists.deny).find((d) => isUnder(target, d))
  if (denied !== undefined) return reject(input, `${target} is under ${denied}, which the ${where} deny list refuses`, extra)
  const allow = normalizeList(lists.allow)
  if (allow.length > 0 && !allow.some((a) => isUnder(target, a))) {
    return reject(input, `${target} is outside the ${where} allow list (${allow.join(", ")})`, extra)
  }
  return Either.right(target)
}

/** Rules 1–3: the canonical path, or `PathRejected` naming what was wrong. Deny wins over allow. */
export const validatePath = (input: string, context: PathContext, lists: PathLists = DEFAULT_LISTS): Either.Either<string, PathRejected> =>
  Either.flatMap(canonicalize(input), (canonical) => checkLists(input, canonical, context, lists))

/**
 * Rule 4: re-checks the path the target resolved to (symlinks followed by the transport) with rules 1–3;
 * the operation then targets the returned resolved path.
 */
export const validateResolved = (
  input: string,
  resolved: string,
  context: PathContext,
  lists: PathLists = DEFAULT_LISTS
): Either.Either<{ readonly path: string; readonly resolvedPath: string }, PathRejected> =>
  Either.flatMap(validatePath(input, context, lists), (canonical) =>
    Either.flatMap(
      Either.mapLeft(canonicalize(resolved), (e) => new PathRejected({ path: input, reason: `it resolves to an invalid path: ${e.reason}`, canonical, resolved })),
      (res) => Either.map(checkLists(input, canonical, context, lists, res), () => ({ path: canonical, resolvedPath: res }))
    )
  )

/** Rule 5: at companion, host `tail_log` paths must be under /var/log (root is not limited). */
export const checkHostTailLog = (canonical: string, tier: string): Either.Either<string, PathRejected> =>
  tier === "companion" && !isUnder(canonical, "/var/log")
    ? reject(canonical, "at the companion tier tail_log reads only under /var/log", { canonical })
    : Either.right(canonical)

// ---------------------------------------------------------------------------------------------------
// §3.1 protected paths for host writes
// ---------------------------------------------------------------------------------------------------

/** The authorized-keys files (on Proxmox the first is a symlink to the second). */
export const AUTHORIZED_KEYS: ReadonlyArray<string> = ["/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2", "/etc/pve/priv/authorized_keys"]

const PROTECTED_PATTERNS: ReadonlyArray<RegExp> = [
  /^\/etc\/pve\/priv(\/.*)?$/,
  /^\/etc\/pve\/user\.cfg$/,
  /^\/etc\/pve\/corosync\.conf$/,
  /^\/etc\/pve\/authkey\.[^/]+$/,
  /^\/etc\/pve\/pve-root-ca\.[^/]+$/,
  // /etc/pve/local is a symlink to /etc/pve/nodes/<node>: protect both spellings
  /^\/etc\/pve\/(local|nodes\/[^/]+)\/pve-ssl\.[^/]+$/,
  /^\/etc\/pve\/(local|nodes\/[^/]+)\/pveproxy-ssl\.[^/]+$/
]

/** What §3.1 says about a host write to a canonical path: never, only with confirmation, or no rule. */
export type ProtectedRule = "protected" | "confirm" | "none"

/** `protected` for the files the server never writes, `confirm` for other `/etc/pve` targets, else `none`. */
export const protectedPathRule = (path: string): ProtectedRule => {
  if (AUTHORIZED_KEYS.includes(path) || PROTECTED_PATTERNS.some((re) => re.test(path))) return "protected"
  return isUnder(path, "/etc/pve") ? "confirm" : "none"
}

/** Fails with `ProtectedPath` for a protected host write target; otherwise says whether confirm is needed. */
export const checkHostWrite = (path: string): Either.Either<"confirm" | "none", ProtectedPath> => {
  const rule = protectedPathRule(path)
  return rule === "protected" ? Either.left(new ProtectedPath({ path })) : Either.right(rule)
}
