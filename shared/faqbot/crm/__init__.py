"""CRM sync: leads, escalations and transcripts to Kommo or to a generic signed webhook."""
