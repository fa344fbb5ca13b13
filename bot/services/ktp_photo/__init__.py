"""Reading a KTP photo on this machine (issue 30): the image checked and decoded in memory
(image.py), the card found and straightened (card.py), its text read with libtesseract
(reader.py), and the fields checked by bot.domain.ktp. Nothing is written anywhere."""
