/**
 * State invariants (sandbox.md §3.5), checked after every mutation in the sandbox's tests: snapshot
 * parents exist and form a tree, running ⇔ pid, stopped ⇒ uptime 0, used ≤ total unless full, running
 * tasks lack endtime, locks only while a task works on the guest.
 */
import type { LabState } from "./LabState.js"

/** Violations of the invariants (empty = consistent). */
export const checkInvariants = (lab: LabState): Array<string> => {
  const out: Array<string> = []
  const running = lab.listTasks().filter((t) => t.status === "running")
  for (const g of lab.listGuests()) {
    const where = `${g.type}/${g.vmid}`
    const parent = g.config["parent"]
    if (parent !== undefined && !g.snapshots.has(parent)) out.push(`${where}: parent '${parent}' is not a snapshot`)
    for (const s of g.snapshots.values()) {
      if (s.parent !== undefined && !g.snapshots.has(s.parent)) out.push(`${where}: snapshot '${s.name}' has missing parent '${s.parent}'`)
      const seen = new Set<string>()
      let cur: string | undefined = s.name
      while (cur !== undefined) {
        if (seen.has(cur)) {
          out.push(`${where}: snapshot parent cycle through '${cur}'`)
          break
        }
        seen.add(cur)
        cur = g.snapshots.get(cur)?.parent
      }
    }
    if ((g.status === "running") !== (g.pid !== undefined)) out.push(`${where}: status ${g.status} but pid ${g.pid ?? "none"}`)
    if (g.status === "stopped" && lab.guestMetrics(g).uptime !== 0) out.push(`${where}: stopped with uptime`)
    const lock = g.config["lock"]
    if (lock !== undefined && ["snapshot", "rollback", "backup"].includes(lock) && !running.some((t) => t.id === String(g.vmid))) {
      out.push(`${where}: lock '${lock}' without a running task`)
    }
    for (const s of g.snapshots.values()) {
      if (s.snapstate !== undefined && !running.some((t) => t.id === String(g.vmid))) out.push(`${where}: snapstate '${s.snapstate}' on '${s.name}' without a running task`)
    }
  }
  for (const s of lab.stores.values()) {
    const u = lab.storeUsage(s.id)
    if (u.used > u.total) out.push(`storage ${s.id}: used ${u.used} > total ${u.total}`)
    if (u.avail !== u.total - u.used) out.push(`storage ${s.id}: avail inconsistent`)
  }
  for (const t of lab.listTasks()) {
    if (t.status === "running" && t.endtime !== undefined) out.push(`${t.upid}: running with endtime`)
    if (t.status === "stopped" && (t.endtime === undefined || t.endtime < t.starttime || t.exitstatus === undefined)) out.push(`${t.upid}: stopped without endtime/exitstatus`)
  }
  return out
}
