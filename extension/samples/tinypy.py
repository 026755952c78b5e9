# tinypy: the small programs TinyFIM's model learned to trace (integer variables and arithmetic,
# if/elif/else, while, for ... in range, print).
#
# Hover the first line of the code below: the card shows what the model predicts these
# lines print and how many lines they run, without running them. "Run and compare" runs them (in
# a trusted folder) and puts the real values beside the prediction.
#
a = 5
b = 7
if a < b :
	print(a + b)
else :
	print(a - b)
for i in range(2, 8, 3) :
	print(i)