/**
 * Parser of `df -B1 --output=source,fstype,target,size,used,avail` (census-health.md §2.1). Mount points
 * may contain spaces, so each line is read as source, fstype, then the last three numeric columns, with
 * the target in between. Pure.
 */

/** One mounted filesystem in bytes; `null` where df printed `-`. */
export interface DfRow {
  readonly source: string
  readonly fstype: string
  readonly target: string
  readonly sizeBytes: number | null
  readonly usedBytes: number | null
  readonly availBytes: number | null
}

const num = (s: string): number | null => (/^\d+$/.test(s) ? Number(s) : null)

/** Parses df output; the header line and malformed lines are skipped (counted in `skipped`). */
export const parse = (output: string): { readonly rows: ReadonlyArray<DfRow>; readonly skipped: number } => {
  const rows: Array<DfRow> = []
  let skipped = 0
  for (const raw of output.split("\n")) {
    const line = raw.trimEnd()
    if (line.trim() === "") continue
    if (/^Filesystem\s+Type\s+Mounted on\b/.test(line)) continue
    const m = /^(\S+)\s+(\S+)\s+(.+?)\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)$/.exec(line.trim())
    if (m === null) {
      skipped++
      continue
    }
    rows.push({ source: m[1]!, fstype: m[2]!, target: m[3]!, sizeBytes: num(m[4]!), usedBytes: num(m[5]!), availBytes: num(m[6]!) })
  }
  return { rows, skipped }
}

const pseudoTypes = new Set(["tmpfs", "devtmpfs", "proc", "sysfs", "overlay", "squashfs"])
const pseudoRoots = ["/dev", "/run", "/sys", "/proc"]

/** True for pseudo filesystems (`tmpfs`, `devtmpfs`, `proc`, `sysfs`, `cgroup*`, `overlay`, `squashfs`) or mounts at or under `/dev`, `/run`, `/sys`, `/proc`. */
export const isPseudo = (row: Pick<DfRow, "fstype" | "target">): boolean =>
  pseudoTypes.has(row.fstype) ||
  row.fstype.startsWith("cgroup") ||
  pseudoRoots.some((root) => row.target === root || row.target.startsWith(`${root}/`))
