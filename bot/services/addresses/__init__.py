"""A participant's chat addresses (web chat, Telegram, WhatsApp), each proven theirs, by job:

* ``reachability``: the addresses, where a reminder can reach, an address gone for good;
* ``linking``: linking a WhatsApp number and changing number, purposes of the one-time
  code service (bot.services.one_time_codes); a Telegram-proven number is linked at once;
* ``number_change``: what a change leaves behind: notices and "BUKAN SAYA" reports;
* ``agent_report``: who in an agent's village no reminder can reach."""
