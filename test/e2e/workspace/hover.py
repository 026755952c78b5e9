# Trace-prediction hover fixture: the card answers on the first line of the statements
# below. These comment lines leave room above it, so the card shows above the snippet (at
# the very top of a file there is no room, and the editor puts the card below).
#
#
#
#
#
total = 0
for i in range(4):
    total = total + i
print(total)
