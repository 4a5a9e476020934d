"""The ways customers reach us (email, chat, phone, partner API); all go through intake."""
