a = 5
b = 7
if a < b :
	print(a + b)
else :
	print(a - b)
for i in range(2, 8, 3) :
	print(i)