"""Opportunity signals: the rules that read tickets and survey answers for sales reasons."""
