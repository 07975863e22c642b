// Compile-time checks of the generated types (`tsc --noEmit`); not run.
import * as mw from '..'

async function typed(): Promise<void> {
  const raw: Buffer = await mw.build({ from: 'a@example.org', to: ['b@example.org'], attachments: ['x.pdf', { filename: 'y', content: Buffer.alloc(1) }] })
  const msg: mw.Message = mw.parse(raw)
  const subject: string | null | undefined = msg.subject
  const date: Date | null = msg.date
  const from: mw.Address[] = msg.from
  const kinds: Array<'multipart' | 'message' | 'leaf'> = msg.parts.map((p) => p.kind)
  const content: Buffer = msg.attachments[0].content
  const d: mw.Dissection = await msg.dissect('out', { bodies: true })
  const r: mw.Receipt = await mw.send(raw, { smtp: 'smtp://127.0.0.1:587', user: 'u', password: 'p', timeout: 5 })
  const status: 'accepted' | 'transient' | 'permanent' = r.recipients[0].status
  for await (const m of new mw.Maildir('Maildir')) {
    const id: string = m.id
    void id
  }
  for await (const b of new mw.Mbox('x.mbox')) {
    const n: number = b.length
    void n
  }
  const bot = new mw.Mailbot({ maildir: 'Maildir', transport: { from: 'bot@example.org', outbox: 'outbox' } })
  bot.rule({ name: 'r', attachmentType: ['application/pdf'], actions: [{ type: 'save', dir: 'pdfs' }] }, async (m: mw.Message, parts: mw.Part[]) => {
    void m.subject, parts.length
  })
  bot.rule({ name: 's' }, (m) => void m.text)
  const report: mw.BotReport = await bot.runOnce()
  // @ts-expect-error: parse takes bytes, not text
  mw.parse('Subject: x')
  // @ts-expect-error: options are camelCase
  await mw.send(raw, { allow_plaintext: true })
  void subject, date, from, kinds, content, d, status, report
}
void typed
