'use strict'
// mailauth (postalsys) on the DKIM comparison's messages: `node dkim.js DIR SIGNED_DIR KEY.pem RECORD ROUNDS`.
// Signs every DIR/*.eml (rsa-sha256, relaxed/relaxed) and verifies every SIGNED_DIR/*.eml
// (signed by mailwright) with the key answered from memory; prints one JSON object with the
// median seconds of each pass. Messages go one at a time, as a mailbot handles them.

const fs = require('node:fs')
const path = require('node:path')
const { dkimSign } = require('mailauth/lib/dkim/sign')
const { dkimVerify } = require('mailauth/lib/dkim/verify')

const [corpus, signedDir, keyFile, record, roundsArg] = process.argv.slice(2)
const rounds = Number(roundsArg)
const read = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => fs.readFileSync(path.join(dir, f)))
const messages = read(corpus)
const signed = read(signedDir)
const privateKey = fs.readFileSync(keyFile, 'utf8')
const resolver = async () => [[record]]
const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]

async function main() {
  const signTimes = []
  const verifyTimes = []
  const signatureData = [{ signingDomain: 'bench.test', selector: 'bench', privateKey, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }]
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint()
    for (const m of messages) {
      const s = await dkimSign(m, { signatureData })
      if (s.errors && s.errors.length) throw new Error(JSON.stringify(s.errors))
    }
    signTimes.push(Number(process.hrtime.bigint() - t) / 1e9)
  }
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint()
    for (const m of signed) {
      const v = await dkimVerify(m, { resolver })
      const ours = v.results.find((x) => x.signingDomain === 'bench.test')
      if (!ours || ours.status.result !== 'pass') throw new Error(`mailauth: ${JSON.stringify(v.results)}`)
    }
    verifyTimes.push(Number(process.hrtime.bigint() - t) / 1e9)
  }
  console.log(JSON.stringify({ tool: 'mailauth', messages: messages.length, sign_s: median(signTimes), verify_s: median(verifyTimes) }))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
