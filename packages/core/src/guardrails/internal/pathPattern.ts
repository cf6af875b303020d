/**
 * @internal Path patterns for command targets: an evaluated field resolved against the tracked cwd and
 * canonicalized lexically. Glob segments stay patterns (the shell expands them to real names, so a glob
 * that can name `/etc` counts as naming it); run-time content makes the rest of the path unknown.
 */
import { DYN, fieldMatches } from "./shell.js"

export type PathPattern =
  /** Absolute: known leading segments (may hold globs); `open` when the rest is only known at run time. */
  | { readonly kind: "abs"; readonly segs: ReadonlyArray<string>; readonly open: boolean }
  /** Could be any path (starts with run-time content, or climbs from an unknown cwd). */
  | { readonly kind: "unknown" }
  /** Relative to an unknown cwd: cannot name a system path by itself. */
  | { readonly kind: "relative" }

export type Match = "yes" | "maybe" | "no"

/** Resolves `field` against `cwd` (undefined = unknown). */
export const resolvePattern = (field: string, cwd: string | undefined): PathPattern => {
  if (field.startsWith(DYN)) return { kind: "unknown" }
  let full: string
  if (field.startsWith("/")) full = field
  else if (cwd !== undefined) full = `${cwd}/${field}`
  else if (field === ".." || field.startsWith("../")) return { kind: "unknown" }
  else return { kind: "relative" }
  const segs: Array<string> = []
  let open = false
  for (const seg of full.split("/")) {
    if (seg.includes(DYN)) {
      open = true
      break
    }
    if (seg === "" || seg === ".") continue
    if (seg === "..") {
      segs.pop()
      continue
    }
    segs.push(seg)
  }
  return { kind: "abs", segs, open }
}

const splitTarget = (target: string): ReadonlyArray<string> => target.split("/").filter((s) => s.length > 0)

const prefixMatches = (segs: ReadonlyArray<string>, target: ReadonlyArray<string>, n: number): boolean => {
  for (let i = 0; i < n; i++) if (!fieldMatches(segs[i]!, target[i]!)) return false
  return true
}

/** Does the pattern name `target` or something under it? */
export const underOrEqual = (p: PathPattern, target: string): Match => {
  if (p.kind === "unknown") return "maybe"
  if (p.kind === "relative") return "no"
  const t = splitTarget(target)
  if (p.segs.length >= t.length) return prefixMatches(p.segs, t, t.length) ? "yes" : "no"
  return p.open && prefixMatches(p.segs, t, p.segs.length) ? "maybe" : "no"
}

/** Does the pattern name `target` or one of its ancestors (so a recursive operation reaches it)? */
export const ancestorOrEqual = (p: PathPattern, target: string): Match => {
  if (p.kind === "unknown") return "maybe"
  if (p.kind === "relative") return "no"
  const t = splitTarget(target)
  if (p.segs.length > t.length) return "no"
  if (!prefixMatches(p.segs, t, p.segs.length)) return "no"
  return p.open ? "maybe" : "yes"
}

/** Literal rendering of a pattern for reasons. */
export const showPattern = (p: PathPattern): string =>
  p.kind === "abs" ? `/${p.segs.join("/")}${p.open ? (p.segs.length > 0 ? "/…" : "…") : ""}` : p.kind === "unknown" ? "a run-time path" : "a relative path"

export const worst = (a: Match, b: Match): Match => (a === "yes" || b === "yes" ? "yes" : a === "maybe" || b === "maybe" ? "maybe" : "no")
