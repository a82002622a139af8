"""The privacy and cookie policies: versions, rendering and change notices."""
