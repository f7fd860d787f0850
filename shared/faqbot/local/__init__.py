"""The local stack behind `faqbot run`: an AWS emulator, the template's resources, the HTTP API and event delivery."""
