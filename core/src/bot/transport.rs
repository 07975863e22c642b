//! Where the bot's replies and forwards go: the `[transport]` section made into a
//! [`Transport`], and the two messages it sends.

use crate::build::MessageBuilder;
use crate::inject::Transport;
use crate::parse::Message;

use super::BotError;
use super::actions::{ActionError, fill};
use super::rules::TransportSpec;

/// The transport the section names: an outbox (durable the moment the action succeeds), a
/// Maildir, or an SMTP server.
fn make(t: &TransportSpec) -> Result<Box<dyn Transport + Send>, BotError> {
    if let Some(dir) = &t.outbox {
        return Ok(Box::new(crate::inject::Outbox::open(dir)?));
    }
    #[cfg(feature = "smtp")]
    {
        let oauth2 = match &t.user {
            Some(user) => crate::oauth2::OAuth2::from_options(
                user,
                t.oauth2_token_file.as_deref(),
                t.oauth2_token_command.as_deref(),
                t.oauth2_mechanism.as_deref(),
            )
            .map_err(crate::fetch::FetchError::from)?,
            None => None,
        };
        let credentials = match (&t.user, &t.smtp) {
            (Some(user), Some(_)) if oauth2.is_none() => {
                Some((user.clone(), crate::secret::read_secret(t.password_file.as_deref())?))
            }
            _ => None,
        };
        let d = crate::inject::Destination {
            smtp: t.smtp.clone(),
            maildir: t.maildir.clone(),
            credentials,
            oauth2,
            ca_file: t.ca_file.clone(),
            ..Default::default()
        };
        Ok(d.transport()?)
    }
    #[cfg(not(feature = "smtp"))]
    match &t.maildir {
        Some(dir) => Ok(Box::new(crate::inject::MaildirTransport::new(dir))),
        None => Err(BotError::Unsupported("[transport] smtp")),
    }
}

/// The bot's sending side: its transport and its `From`.
pub(crate) struct Sender {
    transport: Option<Box<dyn Transport + Send>>,
    from: String,
}

impl Sender {
    /// A sender for the rules' `[transport]`; with `dry_run` (or no section) nothing is set up.
    pub(crate) fn new(spec: Option<&TransportSpec>, dry_run: bool) -> Result<Sender, BotError> {
        let transport = match (spec, dry_run) {
            (Some(t), false) => Some(make(t)?),
            _ => None,
        };
        Ok(Sender { transport, from: spec.map(|t| t.from.clone()).unwrap_or_default() })
    }

    /// Replies to `msg` with `text` (`{subject}`, `{from}` filled in); returns the Message-ID,
    /// which is derived from the message's hash, so a retry sends the same message.
    pub(crate) fn reply(
        &mut self,
        reply: MessageBuilder,
        msg: &Message<'_>,
        text: &str,
        hash: &str,
    ) -> Result<String, ActionError> {
        let id = format!("reply.{}@mailwright", &hash[..24]);
        let b = reply.from(self.from.as_str()).message_id(id.as_str()).text(fill(text, msg));
        self.send(b)?;
        Ok(id)
    }

    /// Forwards `msg` (attached whole) to `to` with `text`; returns the Message-ID.
    pub(crate) fn forward(
        &mut self,
        msg: &Message<'_>,
        to: &[String],
        text: &str,
        hash: &str,
    ) -> Result<String, ActionError> {
        let id = format!("fwd.{}@mailwright", &hash[..24]);
        let mut b =
            MessageBuilder::forward(msg, true).from(self.from.as_str()).message_id(id.as_str()).text(fill(text, msg));
        for t in to {
            b = b.to(t.as_str());
        }
        self.send(b)?;
        Ok(id)
    }

    fn send(&mut self, b: MessageBuilder) -> Result<(), ActionError> {
        let env = b.envelope()?;
        let raw = b.build()?;
        let t = self.transport.as_mut().ok_or(ActionError::NoTransport)?;
        t.send_raw(&env, &raw)?;
        Ok(())
    }
}
