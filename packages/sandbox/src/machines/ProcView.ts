/**
 * `/proc` of a machine: a read-only mount whose files (`loadavg meminfo uptime cpuinfo net/tcp mounts
 * version`) are rendered from the machine's live facts on every read (sandbox.md §3.4).
 */
import { InMemoryFs, type IFileSystem } from "just-bash"
import type { SysInfo, VirtualTime } from "./Machine.js"
import { sync, ViewFs } from "./ViewFs.js"

const kib = (n: number) => `${String(Math.floor(n / 1024)).padStart(8)} kB`

/** Renders every /proc file from the facts. */
export const render = (s: SysInfo, nowSec: number): Record<string, string> => {
  const up = Math.max(0, nowSec - s.bootTime)
  const [l1, l5, l15] = s.load
  const memFree = Math.max(0, s.memTotal - s.memUsed - Math.floor(s.memTotal * 0.08))
  let cpuinfo = ""
  for (let i = 0; i < s.cpus; i++) {
    cpuinfo += `processor\t: ${i}\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: ${s.cpuModel}\ncpu MHz\t\t: 3800.000\ncache size\t: 512 KB\nphysical id\t: 0\nsiblings\t: ${s.cpus}\ncore id\t\t: ${i >> 1}\ncpu cores\t: ${Math.max(1, s.cpus >> 1)}\n\n`
  }
  let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
  s.listening.forEach((l, i) => {
    const ip = l.address === "127.0.0.1" ? "0100007F" : "00000000"
    tcp += `   ${i}: ${ip}:${l.port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${20000 + i} 1 0000000000000000 100 0 0 10 0\n`
  })
  const mounts = s.mounts.map((m) => `${m.source} ${m.target.replace(/ /g, "\\040")} ${m.fstype} rw,relatime 0 0\n`).join("")
  return {
    "/loadavg": `${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)} 2/${300 + s.cpus * 20} ${12345 + Math.floor(up) % 50000}\n`,
    "/uptime": `${up.toFixed(2)} ${(up * s.cpus * 0.9).toFixed(2)}\n`,
    "/meminfo": `MemTotal:       ${kib(s.memTotal)}\nMemFree:        ${kib(memFree)}\nMemAvailable:   ${kib(s.memTotal - s.memUsed)}\nBuffers:        ${kib(s.memTotal * 0.01)}\nCached:         ${kib(s.memTotal * 0.07)}\nSwapCached:     ${kib(0)}\nSwapTotal:      ${kib(s.swapTotal)}\nSwapFree:       ${kib(s.swapTotal - s.swapUsed)}\nShmem:          ${kib(s.memTotal * 0.002)}\n`.replace(/ {2,}(?=\d)/g, (m) => m),
    "/cpuinfo": cpuinfo,
    "/net/tcp": tcp,
    "/mounts": mounts,
    "/self/mounts": mounts,
    "/version": "Linux version 6.17.2-1-pve (build@proxmox) (gcc (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44) #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)\n"
  }
}

/** The /proc filesystem of a machine. */
export const make = (sys: () => SysInfo, time: VirtualTime): IFileSystem => {
  const inner = new InMemoryFs()
  return new ViewFs(inner, {
    readOnly: true,
    refresh: async (fs) => {
      const now = time.now()
      for (const [p, content] of Object.entries(render(sys(), now / 1000))) await sync(fs, p, content, 0o444, new Date(now))
    }
  })
}
