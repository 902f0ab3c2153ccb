"""What each role sees first: the data of the site head's (and staff's) home page. The reviewer's
home is the programme board (fivs.calendar.board)."""
