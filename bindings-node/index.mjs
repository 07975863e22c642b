// ES module entry: the same objects as the CommonJS entry.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const mailwright = require('./index.js')

export const {
  Mailbot,
  Maildir,
  Mbox,
  Message,
  MessageBuilder,
  Outbox,
  Part,
  Transport,
  build,
  imapSync,
  isMailwrightError,
  parse,
  parseFile,
  send,
  version,
} = mailwright
export default mailwright
