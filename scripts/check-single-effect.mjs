// Fails when the installed tree holds more than one copy of `effect` (a second copy breaks Tag identity,
// style guide §4.3).
import { readdirSync } from "node:fs"

const store = new URL("../node_modules/.pnpm/", import.meta.url)
const copies = readdirSync(store).filter((d) => /^effect@\d/.test(d))
if (copies.length !== 1) {
  console.error(`expected exactly one copy of effect in node_modules/.pnpm, found ${copies.length}: ${copies.join(", ")}`)
  process.exit(1)
}
console.error(`one copy of effect: ${copies[0]}`)
