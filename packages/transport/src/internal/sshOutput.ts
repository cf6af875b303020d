/**
 * Bounded output collection for remote commands (transport-trust.md §3.4): the first and last halves of the
 * cap are kept, bytes in between are counted but not buffered, and UTF-8 decoding happens after assembly.
 */

/** The parser cap (transport-trust.md §3.4): output feeding internal parsers is refused above 16 MiB. */
export const PARSER_MAX_BYTES = 16 * 1024 * 1024

/** A stream's capped content. */
export interface CappedText {
  readonly text: string
  readonly bytes: number
  readonly truncated: boolean
}

/** Collects one stream's chunks with memory bounded by `cap` plus one chunk. */
export class CappedBuffer {
  private readonly headCap: number
  private readonly tailCap: number
  private head: Array<Buffer> = []
  private headLen = 0
  private tail: Array<Buffer> = []
  private tailLen = 0
  private total = 0

  constructor(readonly cap: number) {
    this.headCap = Math.floor(cap / 2)
    this.tailCap = cap - this.headCap
  }

  /** Total bytes seen, including the omitted ones. */
  get bytes(): number {
    return this.total
  }

  /** Adds one chunk. */
  push(chunk: Uint8Array): void {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.total += buf.length
    if (this.headLen < this.headCap) {
      const take = Math.min(this.headCap - this.headLen, buf.length)
      // kept as views: ssh2 hands every data event a buffer of its own (one per decrypted packet), so no
      // copy is needed, and a multi-MiB read holds its bytes once until `whole()` joins them
      this.head.push(buf.subarray(0, take))
      this.headLen += take
      buf = buf.subarray(take)
    }
    if (buf.length === 0) return
    this.tail.push(buf)
    this.tailLen += buf.length
    while (this.tailLen > this.tailCap && this.tail.length > 0) {
      const first = this.tail[0]!
      const excess = this.tailLen - this.tailCap
      if (first.length <= excess) {
        this.tail.shift()
        this.tailLen -= first.length
      } else {
        this.tail[0] = first.subarray(excess)
        this.tailLen -= excess
      }
    }
  }

  /** True when bytes were omitted. */
  get truncated(): boolean {
    return this.total > this.cap
  }

  /** All bytes when nothing was omitted (for exact consumers); `null` otherwise. */
  whole(): Buffer | null {
    if (this.truncated) return null
    const parts = [...this.head, ...this.tail]
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.total)
  }

  /** The assembled text: whole, or head + `…[truncated, N bytes omitted]…` + tail, decoded as UTF-8 after assembly. */
  result(): CappedText {
    const whole = this.whole()
    if (whole !== null) return { text: whole.toString("utf8"), bytes: this.total, truncated: false }
    const omitted = this.total - this.headLen - this.tailLen
    const text = Buffer.concat(this.head).toString("utf8") + omissionMarker(omitted) + Buffer.concat(this.tail).toString("utf8")
    return { text, bytes: this.total, truncated: true }
  }
}

/** The marker placed where bytes were dropped. */
export const omissionMarker = (omitted: number): string => `…[truncated, ${omitted} bytes omitted]…`

/** Caps an already-complete byte string the same way (used for agent JSON `out-data`). */
export const capBytes = (bytes: Uint8Array, cap: number): CappedText => {
  const b = new CappedBuffer(cap)
  b.push(bytes)
  return b.result()
}
