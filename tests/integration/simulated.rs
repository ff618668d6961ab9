// The simulator truth tests land here.
