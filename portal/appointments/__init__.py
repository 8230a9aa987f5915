"""Biometric enrolment appointments: centres, slots, booking, reminders, calendar files."""
